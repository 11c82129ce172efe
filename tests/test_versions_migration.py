"""Migrating running instances between versions: moves, refusals, dry runs, timers, the chain."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from versions_fixtures import REVIEW_V1, REVIEW_V2, REVIEW_V3, admin_actions, snapshot, timer_rows

from workflow import Actor, Engine, InvalidInput, MigrationRefused
from workflow.admin import MigrationRequest, migrate_instances

DRAFTER = Actor("dana", ["drafter"])
REVIEWER = Actor("rui", ["reviewer"])


@pytest.fixture
def v1_running(engine: Engine) -> tuple[Engine, int, int]:
    """Two v1 instances, one in draft and one in review (with a pending reminder)."""
    engine.deploy_text(REVIEW_V1, filename="review_v1.yaml")
    in_draft = engine.start("review_flow", DRAFTER, data={"title": "Kế hoạch"}).instance.id
    in_review = engine.start("review_flow", DRAFTER).instance.id
    engine.fire(in_review, "submit", DRAFTER)
    return engine, in_draft, in_review


def test_v1_instances_keep_running_under_v1_after_v2_is_deployed(v1_running):
    engine, in_draft, in_review = v1_running
    assert engine.deploy_text(REVIEW_V2, filename="review_v2.yaml").version == 2
    # v1 has no summary guard and no checking state: the old rules still apply
    assert engine.fire(in_draft, "submit", DRAFTER).instance.state == "review"
    assert engine.fire(in_review, "approve", REVIEWER).instance.definition_version == 1
    assert engine.start("review_flow", DRAFTER).instance.definition_version == 2


def test_full_mapping_moves_every_instance_and_the_chain_verifies(v1_running, clock):
    engine, in_draft, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    clock.advance(timedelta(hours=1))
    plan = migrate_instances(
        engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}), reason="v2 rules"
    )
    assert plan.applied
    assert [(mv.instance_id, mv.from_state, mv.to_state) for mv in plan.moves] == [
        (in_draft, "draft", "draft"),
        (in_review, "review", "checking"),
    ]
    moved = engine.get(in_review)
    assert (moved.definition_version, moved.state, moved.version) == (2, "checking", 3)
    last = engine.history(in_review)[-1]
    assert (last.kind, last.trigger, last.from_state, last.to_state) == (
        "migrated",
        None,
        "review",
        "checking",
    )
    assert last.definition_version == 2
    assert last.occurred_at == clock.now()
    assert last.reason == "v2 rules"
    assert last.payload["from_version"] == 1
    assert last.payload["to_version"] == 2
    assert last.payload["mapping"] == {"review": "checking"}
    assert engine.verify().ok
    assert admin_actions(engine)[-1] == ("migrate", "review_flow@1->2")


def test_migrated_instance_fires_under_the_new_rules(v1_running):
    engine, in_draft, _ = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    migrate_instances(engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}))
    result = engine.fire(in_draft, "submit", DRAFTER, payload={"summary": "Tóm tắt"})
    assert (result.instance.state, result.event.definition_version) == ("checking", 2)
    assert engine.verify(in_draft).ok


def test_mapped_state_cancels_old_timers_and_creates_the_new_states(v1_running):
    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    migrate_instances(engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}))
    assert timer_rows(engine, in_review) == [
        ("review", "remind", "cancelled"),
        ("checking", "remind", "pending"),
    ]


def test_timer_created_by_a_migration_fires_under_the_new_version(v1_running, clock):
    from workflow.timers import run_due_timers

    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    migrate_instances(engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}))
    clock.advance(timedelta(days=4))  # v1's reminder (P3D) would be due; it was cancelled
    assert run_due_timers(engine).fired == 0
    clock.advance(timedelta(days=1))  # v2's reminder counts P5D from the migration
    assert run_due_timers(engine).fired == 1
    last = engine.history(in_review)[-1]
    assert (last.trigger, last.to_state, last.definition_version) == ("remind", "checking", 2)
    assert engine.verify().ok


def test_missing_mapping_refuses_and_changes_nothing(v1_running):
    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    before = snapshot(engine)
    with pytest.raises(MigrationRefused, match=f"instance {in_review}: review -> .*no counterpart"):
        migrate_instances(engine, MigrationRequest("review_flow", 1, 2))
    assert snapshot(engine) == before


def test_dry_run_lists_each_instance_and_changes_nothing(v1_running):
    engine, in_draft, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    before = snapshot(engine)
    plan = migrate_instances(
        engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}), dry_run=True
    )
    assert not plan.applied
    assert [str(mv) for mv in plan.moves] == [
        f"instance {in_draft}: draft -> draft",
        f"instance {in_review}: review -> checking; cancels timers remind; creates timers remind",
    ]
    assert snapshot(engine) == before


def test_dry_run_reports_problems_instead_of_raising(v1_running):
    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    plan = migrate_instances(engine, MigrationRequest("review_flow", 1, 2), dry_run=True)
    assert [mv.instance_id for mv in plan.problems] == [in_review]


def test_unmapped_kept_state_refuses_when_pending_timers_would_be_stranded(v1_running):
    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V3, filename="review_v3.yaml")
    before = snapshot(engine)
    with pytest.raises(MigrationRefused, match=r"remind .* would be stranded"):
        migrate_instances(engine, MigrationRequest("review_flow", 1, 2))
    assert snapshot(engine) == before
    assert timer_rows(engine, in_review) == [("review", "remind", "pending")]


def test_mapping_a_state_onto_itself_reenters_it_with_the_new_timers(v1_running):
    engine, _, in_review = v1_running
    engine.deploy_text(REVIEW_V3, filename="review_v3.yaml")
    migrate_instances(engine, MigrationRequest("review_flow", 1, 2, {"review": "review"}))
    assert timer_rows(engine, in_review) == [
        ("review", "remind", "cancelled"),
        ("review", "escalate", "pending"),
    ]
    assert engine.verify().ok


def test_kept_state_keeps_its_pending_timers(engine):
    engine.deploy_text(REVIEW_V1, filename="review_v1.yaml")
    instance = engine.start("review_flow", DRAFTER).instance.id
    engine.fire(instance, "submit", DRAFTER)
    engine.deploy_text(REVIEW_V1.replace("Document review", "Review"), filename="v1b.yaml")
    plan = migrate_instances(engine, MigrationRequest("review_flow", 1, 2))
    assert plan.moves[0].timers_kept == ("remind",)
    assert timer_rows(engine, instance) == [("review", "remind", "pending")]


WHERE = [
    ({"states": ["draft"]}, ["draft"]),
    ({"units": ["u1"]}, ["review"]),
    ({"states": ["draft", "review"]}, ["draft", "review"]),
    ({"states": ["draft"], "units": ["u1"]}, []),
]


def test_where_selects_instances_by_state_and_unit(engine):
    engine.deploy_text(REVIEW_V1, filename="review_v1.yaml")
    engine.start("review_flow", DRAFTER)
    other = engine.start("review_flow", DRAFTER, unit="u1").instance.id
    engine.fire(other, "submit", DRAFTER)
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    # one database for the whole table: each row is a dry run, which changes nothing
    selected = [
        [
            mv.from_state
            for mv in migrate_instances(
                engine,
                MigrationRequest("review_flow", 1, 2, {"review": "checking"}, **where),
                dry_run=True,
            ).moves
        ]
        for where, _ in WHERE
    ]
    assert selected == [expected for _, expected in WHERE]


def test_mapping_must_name_states_of_both_versions(v1_running):
    engine, _, _ = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    bad = {"nowhere": "checking", "review": "elsewhere"}
    with pytest.raises(InvalidInput) as caught:
        migrate_instances(engine, MigrationRequest("review_flow", 1, 2, bad))
    assert str(caught.value) == (
        "mapping nowhere=checking: 'nowhere' is not a state of review_flow@1; "
        "mapping review=elsewhere: 'elsewhere' is not a state of review_flow@2"
    )


def test_migrating_to_a_retired_version_is_refused(v1_running):
    from workflow.admin import retire_version

    engine, _, _ = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    retire_version(engine, "review_flow", 2)
    with pytest.raises(MigrationRefused, match="review_flow@2 is retired"):
        migrate_instances(engine, MigrationRequest("review_flow", 1, 2, {"review": "checking"}))


def test_data_of_a_retyped_field_refuses(engine):
    engine.deploy_text(REVIEW_V1, filename="review_v1.yaml")
    engine.start("review_flow", DRAFTER, data={"title": "Kế hoạch"})
    engine.deploy_text(REVIEW_V1.replace("title: {type: string}", "title: {type: integer}"))
    with pytest.raises(MigrationRefused, match="title must be a whole number"):
        migrate_instances(engine, MigrationRequest("review_flow", 1, 2))


def test_migrate_cli_dry_run_then_refusal_then_migration(v1_running, database_url, capsys):
    from cli_runner import run_cli

    engine, in_draft, in_review = v1_running
    engine.deploy_text(REVIEW_V2, filename="review_v2.yaml")
    code, out = run_cli(capsys, database_url, "migrate review_flow --from 1 --to 2")
    assert code == 1
    assert f"instance {in_review}: review -> ?: refused: state 'review' has no counterpart" in out
    dry = "migrate review_flow --from 1 --to 2 --map review=checking --dry-run"
    code, out = run_cli(capsys, database_url, dry)
    assert (code, out.splitlines()[-1]) == (
        0,
        "would migrate 2 instance(s) of review_flow from @1 to @2",
    )
    assert engine.get(in_review).definition_version == 1
    code, out = run_cli(capsys, database_url, dry.replace("--dry-run", "--json"))
    assert code == 0
    assert json.loads(out)["applied"] is True
    assert engine.get(in_review).state == "checking"
    assert engine.get(in_draft).definition_version == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--to 2 --map review", "expected OLD_STATE=NEW_STATE"),
        ("--to 2 --where colour=red", "expected state=STATE or unit=UNIT"),
        ("--to 1", "nothing to migrate"),
    ],
)
def test_migrate_cli_rejects_bad_options_with_exit_code_2(tmp_path, capsys, options, message):
    from cli_runner import run_cli

    # refused while reading the options, before any workflow is looked up: one backend suffices
    url = f"sqlite:///{tmp_path / 'options.db'}"
    Engine.open(url).close()  # `migrate` never creates a database
    code, out = run_cli(capsys, url, f"migrate review_flow --from 1 {options}")
    assert (code, message in out) == (2, True)
