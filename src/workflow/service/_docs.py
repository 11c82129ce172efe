"""``/docs``: the OpenAPI document rendered as one HTML page on the server, with no script and
nothing fetched from elsewhere (FastAPI's default pages load Swagger UI from a CDN at run time,
which this project does not do); ``/openapi.json`` is the document itself."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "h2{margin-top:2rem;border-bottom:1px solid #ccc}code{background:#f4f4f4;padding:0 .2em}"
    ".op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #4a7}"
    ".m{font-weight:bold;text-transform:uppercase;margin-right:.5em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}"
)


def render(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(str(info.get('title', 'API')))}</title><style>{_STYLE}</style></head>",
        f"<body><h1>{escape(str(info.get('title', '')))} {escape(str(info.get('version', '')))}"
        "</h1>",
        f"<p>{escape(str(info.get('description', '')))}</p>",
        "<p>The machine-readable description: <a href='/openapi.json'>/openapi.json</a>"
        " (OpenAPI " + escape(str(document.get("openapi", ""))) + ").</p>",
    ]
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            parts.append(
                f"<div class='op'><span class='m'>{method}</span><code>{escape(path)}</code>"
                f"<p>{escape(str(op.get('summary', '')))}</p>"
            )
            if op.get("description"):
                parts.append(f"<p>{escape(str(op['description']))}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th></tr>")
                for p in params:
                    parts.append(
                        f"<tr><td><code>{escape(str(p.get('name')))}</code></td>"
                        f"<td>{escape(str(p.get('in')))}</td>"
                        f"<td>{'yes' if p.get('required') else 'no'}</td></tr>"
                    )
                parts.append("</table>")
            body = op.get("requestBody", {}).get("content", {})
            if body:
                kinds = ", ".join(escape(k) for k in body)
                parts.append(f"<p>body: {kinds}</p>")
            codes = ", ".join(escape(str(c)) for c in op.get("responses", {}))
            parts.append(f"<p>responses: {codes}</p></div>")
    parts.append("</body></html>")
    return "".join(parts)


def install(app: FastAPI) -> None:
    async def docs(_: Request) -> HTMLResponse:
        return HTMLResponse(
            render(app.openapi()),
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )

    app.add_route("/docs", docs, methods=["GET"], include_in_schema=False)
