"""The written address tells namesakes apart, never twins: commune and district compared up to formatting."""

from vax_cleaning_tests.linkage.stories import cccd, dose, doses, link, person, registry, row

BINH_TAN_PHU = cccd(1975, "Nam", 31)
BINH_LE_MINH_XUAN = cccd(1975, "Nam", 32)
PEOPLE = registry(
    person(BINH_TAN_PHU, "Phạm Văn Bình", "1975-08-19", "Nam", address="Xã Tân Phú, Huyện Củ Chi"),
    person(BINH_LE_MINH_XUAN, "Phạm Văn Bình", "1975-08-19", "Nam", address="Xã Lê Minh Xuân, Huyện Bình Chánh"),
    person(cccd(2003, "Nữ", 41), "Đỗ Thị Mai", "2003-02-14", "Nữ", address="Phường 4, Quận 8"),
    person(cccd(2003, "Nữ", 42), "Đỗ Thị Mơ", "2003-02-14", "Nữ", address="Phường 4, Quận 8"),  # her twin sister
)


def test_namesakes_in_two_communes_are_told_apart_by_the_address_written():
    written = dose("Phạm Văn Bình", "1975-08-19", "Nam", None)
    result = link(doses({**written, "address": "xa Tan Phu, H. Cu Chi"}), PEOPLE)
    binh = row(result)
    assert (binh["match_status"], binh["person_id"], binh["address_level"]) == (
        "corrected",
        BINH_TAN_PHU,
        "same_commune",
    )
    assert binh["evidence"] == "address"  # the explanation names what carried the link


def test_without_an_address_two_namesakes_stay_in_review():
    result = link(doses(dose("Phạm Văn Bình", "1975-08-19", "Nam", None)), PEOPLE)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "AMBIGUOUS_NAME_DOB")


def test_a_name_typo_is_linked_when_the_address_agrees():
    result = link(doses({**dose("Phạm Văn Bìn", "1975-08-19", "Nam", None), "address": "Tân Phú, Củ Chi"}), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", BINH_TAN_PHU)


def test_twins_at_one_address_are_not_linked_by_the_address():
    result = link(doses({**dose("Đỗ Thị Mơ", "2003-02-14", "Nữ", None), "address": "Phường 4, Quận 8"}), PEOPLE)
    mo = row(result)
    assert mo["person_id"] in (None, cccd(2003, "Nữ", 42))  # her own record, never her sister's
    result = link(doses({**dose("Đỗ Thị M", "2003-02-14", "Nữ", None), "address": "Phường 4, Quận 8"}), PEOPLE)
    assert row(result)["match_status"] == "review"  # a name that fits both sisters equally: people decide
