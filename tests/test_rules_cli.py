"""`dunbot rules check [DIR]`: every error as file:line, exit 1; else a one-line summary."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

runner = CliRunner()


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(tmp_path / "none.yaml"), "rules", "check", *args])
    return result.exit_code, result.output


def project(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped rules and templates plus a config pointing at them."""
    rules, templates = tmp_path / "rules", tmp_path / "templates"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    shutil.copytree(DEFAULT_TEMPLATES_DIR, templates)
    (tmp_path / "dunbot.yaml").write_text(
        "timezone: Asia/Shanghai\nrules: rules/\ntemplates: templates/\n"
    )
    return rules, templates


def run_project(tmp_path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(tmp_path / "dunbot.yaml"), "rules", "check"])
    return result.exit_code, result.output


def test_shipped_rules_and_templates_are_ok(tmp_path: Path) -> None:
    code, output = run(tmp_path, str(DEFAULT_RULES_DIR))
    files = len(list(DEFAULT_RULES_DIR.glob("*.yaml")))
    assert code == 0, output
    assert output.strip() == f"rules OK: {files} files, 80 templates"


def test_without_a_config_the_shipped_folders_are_checked(tmp_path: Path) -> None:
    code, output = run(tmp_path)
    assert code == 0 and output.startswith("rules OK:")


def test_config_folders_are_used_and_a_bad_duration_is_reported(tmp_path: Path) -> None:
    rules, _ = project(tmp_path)
    default = rules / "default.yaml"
    text = default.read_text(encoding="utf-8").replace("after: 4d", "after: four days", 1)
    default.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "after: four days" in s)
    code, output = run_project(tmp_path)
    assert code == 1
    assert f"{default}:{line}: 'after' must be a duration like 3d" in output


def test_every_error_is_listed(tmp_path: Path) -> None:
    rules, templates = project(tmp_path)
    (rules / "broken.yaml").write_text("a: [1, 2\n", encoding="utf-8")
    (templates / "fr" / "friendly-check-in.j2").write_text(
        "Subject: x\n\nBonjour {{ customer_nom }}\n", encoding="utf-8"
    )
    (templates / "en" / "manager-involved.j2").unlink()
    code, output = run_project(tmp_path)
    lines = output.strip().splitlines()
    assert code == 1
    assert any(s.startswith(f"{rules / 'broken.yaml'}:") and "not valid YAML" in s for s in lines)
    assert any(
        s.startswith(f"{templates / 'fr' / 'friendly-check-in.j2'}:3:") and "customer_nom" in s
        for s in lines
    )
    assert any("manager-involved" in s and "missing" in s for s in lines)
    assert "rules OK" not in output


def test_a_language_without_a_template_falls_back_to_english(tmp_path: Path) -> None:
    _, templates = project(tmp_path)
    (templates / "es" / "answer-question.j2").unlink()
    code, output = run_project(tmp_path)
    assert code == 0 and "80 templates" in output


def test_missing_default_and_missing_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = run(tmp_path, str(empty))
    assert code == 1 and f"{empty / 'default.yaml'}: missing" in output
    code, output = run(tmp_path, str(tmp_path / "nowhere"))
    assert code == 1 and "rules folder not found" in output


def test_teammates_rule_files_are_validated_too(tmp_path: Path) -> None:
    rules, _ = project(tmp_path)
    (rules / "orders.yaml").write_text("- not\n- a mapping\n", encoding="utf-8")
    code, output = run_project(tmp_path)
    assert code == 1
    assert output.startswith(f"{rules / 'orders.yaml'}:")
    assert len(output.strip().splitlines()) == len(set(output.strip().splitlines()))
