"""Who plays the demo and what they write: the units' secretaries, the office, the departments,
the Standing Committee and its supervisor, and the plan content 19-CV/ĐUK demands.

Separate from the script (:mod:`demo_script`), which says when each acts; the demo registers
these actors before it plays (:mod:`simulation`).
"""

from __future__ import annotations

from typing import Any

from workflow import Actor


def secretary(unit: str) -> Actor:
    return Actor(f"bi_thu.{unit}", ("secretary", "committee", "drafter"), unit)


OFFICE = Actor("van_thu.van_phong", ("office_clerk", "archivist"), "van_phong")
PROPAGANDA = Actor(
    "truong_ban.ban_tuyen_giao",
    ("propaganda", "coordinator", "secretary", "committee", "drafter"),
    "ban_tuyen_giao",
)
INSPECTOR = Actor(
    "chu_nhiem.uy_ban_kiem_tra",
    ("inspector", "secretary", "committee", "drafter"),
    "uy_ban_kiem_tra",
)
STANDING = Actor("bi_thu.ban_thuong_vu", ("standing_committee",), "ban_thuong_vu")
SUPERVISOR = Actor("uy_vien_bch.phu_trach_khoi_dn", ("supervisor",), "ban_thuong_vu")

# registered by the demo beside each unit's secretary
STAFF = (OFFICE, PROPAGANDA, INSPECTOR, STANDING, SUPERVISOR)


def plan_content(name: str, *, resources: bool = True) -> dict[str, Any]:
    """The content 19-CV/ĐUK demands of a plan, written for unit ``name``."""
    content: dict[str, Any] = {
        "title": f"Kế hoạch cụ thể hóa Nghị quyết Đại hội {name} nhiệm kỳ 2020-2025",
        "targets": "100% cán bộ, đảng viên được quán triệt; hằng năm 90% đảng viên hoàn thành "
        "tốt nhiệm vụ",
        "tasks": "Quán triệt nghị quyết; xây dựng chương trình hành động; đưa vào nghị quyết "
        "năm 2021",
        "solutions": "Gắn thực hiện nghị quyết với nhiệm vụ chuyên môn của cơ quan, đơn vị",
        "resources": "Kinh phí hoạt động công tác đảng năm 2020-2021",
        "responsibilities": "Bí thư chịu trách nhiệm chung; chi ủy viên phụ trách từng đầu việc",
        "schedule": "Quý IV/2020 triển khai; từ năm 2021 thực hiện theo nghị quyết hằng năm",
        "preliminary_review_on": "2023-06-30",
        "final_review_on": "2025-06-30",
        "complete_by": "2025-09-30",
    }
    if not resources:
        del content["resources"], content["schedule"]
    return content


def department_actor(unit: str) -> Actor:
    return {"ban_tuyen_giao": PROPAGANDA, "uy_ban_kiem_tra": INSPECTOR}.get(unit, secretary(unit))
