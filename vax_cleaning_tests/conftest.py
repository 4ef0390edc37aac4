"""Shared fixtures: small, readable Vietnamese landing folders."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import dagster as dg
import pytest

TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows tools write it: base letters precomposed, tone marks combining."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
            out += (base + "".join(c for c in decomposed if c in TONE_MARKS)).encode("cp1258")
    return bytes(out)


HEADER_VI = (
    "Họ và tên,Ngày sinh,Giới tính,Số CMND/CCCD,Số điện thoại,Địa chỉ,Tên vắc xin,Mũi số,Ngày tiêm,Số lô,Cơ sở tiêm"
)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """An empty landing root with exports/ and registry/."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "registry").mkdir()
    return tmp_path


def write_export(landing: Path, province: str, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    """One CSV export under exports/<PP>/, header first, each line ending with a newline."""
    folder = landing / "exports" / province
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = "".join(line + "\n" for line in lines)
    path.write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def check_evaluations(instance: dg.DagsterInstance) -> list:
    """Every asset check evaluation of every run in the instance."""
    return [
        event.dagster_event.asset_check_evaluation_data
        for run in instance.get_runs()
        for event in instance.all_logs(run.run_id)
        if event.dagster_event and event.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


GOOD = (
    'Nguyễn Văn Hùng,12/05/1980,Nam,079080001234,,"Xã An Phú, Huyện Củ Chi",Pfizer,2,15/08/2021,FA1234,Trạm Y tế An Phú'
)
REGISTRY = "person_id,old_id,full_name,date_of_birth,gender,province_code,address\n079080001234,,Nguyễn Văn Hùng,1980-05-12,Nam,79,Củ Chi\n"


def small_landing(landing: Path) -> Path:
    """Hùng in the registry; his dose in province 79 (plus a blank and a bad row) and in 01 (cp1258)."""
    (landing / "registry" / "2022-06-15").mkdir(parents=True)
    (landing / "registry" / "2022-06-15" / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    write_export(landing, "79", "site1.csv", [HEADER_VI, GOOD, "", GOOD.replace("Pfizer", "???")])
    write_export(landing, "01", "site1.csv", [HEADER_VI, GOOD.replace("15/08/2021", "16/08/2021")], encoding="cp1258")
    return landing
