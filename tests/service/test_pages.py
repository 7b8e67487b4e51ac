"""The dashboard pages: shells, scripts, styles and plotly.js served by the app."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources

import pytest

from tests.service.conftest import World, auth

PAGES = {
    "/login": "/static/login.js",
    "/": "/static/overview.js",
    "/assets/BR01": "/static/asset.js",
    "/batches": "/static/batches.js",
    "/audit": "/static/audit.js",
}
STATIC = resources.files("pharmatwin.service.web") / "static"
SCRIPTS = sorted(p.name for p in STATIC.iterdir() if p.name.endswith(".js"))


def referenced(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize(("path", "script"), sorted(PAGES.items()))
def test_page_is_html_with_its_script(world: World, path: str, script: str) -> None:
    response = world.client.get(path)  # no session: the script sends the user to /login
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="{script}"></script>' in response.text
    assert "/static/style.css" in referenced(response.text)


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_referenced_file_is_served(world: World, path: str) -> None:
    kinds = {".js": "text/javascript", ".css": "text/css"}
    for ref in referenced(world.client.get(path).text):
        response = world.client.get(ref)
        assert response.status_code == 200, ref
        suffix = ref[ref.rfind(".") :]
        assert response.headers["content-type"].startswith(kinds[suffix]), ref
        assert len(response.content) > 100, ref


def test_module_imports_are_served(world: World) -> None:
    for name in SCRIPTS:
        text = (STATIC / name).read_text()
        for module in re.findall(r'from "\./([^"]+)"', text):
            response = world.client.get(f"/static/{module}")
            assert response.status_code == 200, f"{name} imports {module}"
            assert response.headers["content-type"].startswith("text/javascript")
            assert "export " in response.text


def test_login_form_has_stable_ids(world: World) -> None:
    html = world.client.get("/login").text
    for ident in ("login-form", "login-name", "login-password", "login-submit", "login-message"):
        assert f'id="{ident}"' in html


@pytest.mark.parametrize("path", sorted(set(PAGES) - {"/login"}))
def test_every_page_links_the_audit_trail_hidden_until_allowed(world: World, path: str) -> None:
    html = world.client.get(path).text
    assert '<a href="/audit" id="nav-audit" data-testid="nav-audit" hidden>' in html


def test_gmp_forms_have_stable_ids(world: World) -> None:
    audit = world.client.get("/audit").text
    for ident in ("audit-filter", "audit-verify", "audit-records", "audit-csv", "audit-pdf"):
        assert f'id="{ident}"' in audit
    batches = world.client.get("/batches").text
    for ident in ("sign-form", "sign-meaning", "sign-password", "sign-reason", "record-hash"):
        assert f'id="{ident}"' in batches
    asset = world.client.get("/assets/BR01").text
    for ident in ("setpoint-form", "setpoint-reason", "whatif-reason"):
        assert f'id="{ident}"' in asset


def test_asset_page_loads_plotly_before_its_module(world: World) -> None:
    html = world.client.get("/assets/BR01").text
    assert html.index("/static/vendor/plotly.min.js") < html.index("/static/asset.js")
    for ident in ("cqa-table", "alarms", "whatif-form", "whatif-result", "whatif-apply"):
        assert f'id="{ident}"' in html


def test_plotly_is_served_from_the_plotly_package(world: World) -> None:
    response = world.client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert len(response.content) > 1_000_000
    assert re.match(rb"/\*\*\s*\* plotly\.js v\d+\.\d+", response.content[:64])


def test_unknown_asset_serves_the_shell_and_the_api_says_404(world: World) -> None:
    page = world.client.get("/assets/NO-SUCH-ASSET")
    assert page.status_code == 200
    assert "/static/asset.js" in page.text
    api = world.client.get("/api/assets/NO-SUCH-ASSET", headers=auth(world, "viewer"))
    assert api.status_code == 404
    assert "NO-SUCH-ASSET" in api.json()["message"]  # what the script shows


@pytest.mark.parametrize(
    "path", ["/static/nope.js", "/static/pages.py", "/static/..%2fpages.py", "/static/x.exe"]
)
def test_other_static_names_are_not_found(world: World, path: str) -> None:
    assert world.client.get(path).status_code == 404


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_syntax(name: str) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "--input-type=module", "--check"],
        input=(STATIC / name).read_text(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
