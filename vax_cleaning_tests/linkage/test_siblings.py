"""A person's other doses vouch for a record without an ID: same phone, same name, same birth date as written."""

from vax_cleaning_tests.linkage.stories import cccd, dose, doses, fixes, link, person, registry, row

LAN_ID = cccd(1990, "Nữ", 11)
PEOPLE = registry(
    person(LAN_ID, "Lê Thị Lan", "1990-05-02", "Nữ", address="Phường 1, Quận 3"),
    person(cccd(1990, "Nữ", 12), "Lê Thị Lan", "1990-05-02", "Nữ", province="01", address="Xã Đông Anh"),  # namesake
    person(cccd(2004, "Nam", 21), "Trần Minh Khôi", "2004-07-09", "Nam", address="Phường 1, Quận 3"),
    person(cccd(2004, "Nam", 22), "Trần Minh Khoa", "2004-07-09", "Nam", address="Phường 1, Quận 3"),  # his twin
)


def test_a_blank_id_dose_2_is_vouched_for_by_its_dose_1():
    result = link(
        doses(
            dose("Lê Thị Lan", "1990-05-02", "Nữ", LAN_ID, phone="0901 234 567"),
            dose("LÊ THỊ LAN", "1990-05-02", "Nữ", None, phone="0901234567", on="2021-09-01", dose_number=2),
        ),
        PEOPLE,
    )
    dose_2 = row(result, 2)
    assert (dose_2["match_status"], dose_2["person_id"], dose_2["rule"]) == ("corrected", LAN_ID, "SIBLING_MATCH")
    assert dose_2["evidence"] == "sibling_record"
    assert fixes(result, 2) == {"id_number": ("ID_MISSING", "auto")}


def test_without_the_same_phone_the_namesake_question_stays_open():
    result = link(
        doses(
            dose("Lê Thị Lan", "1990-05-02", "Nữ", LAN_ID, phone="0901234567"),
            dose("Lê Thị Lan", "1990-05-02", "Nữ", None, phone="0987654321", on="2021-09-01", dose_number=2),
        ),
        PEOPLE,
    )
    assert row(result, 2)["match_status"] == "review" and row(result, 2)["evidence"] is None


def test_twins_sharing_a_phone_never_vouch_for_each_other():
    khoi_id = cccd(2004, "Nam", 21)
    result = link(
        doses(
            dose("Trần Minh Khôi", "2004-07-09", "Nam", khoi_id, phone="0912000111"),
            dose("Trần Minh Khoa", "2004-07-09", "Nam", None, phone="0912000111", on="2021-09-01"),  # the twin, no ID
        ),
        PEOPLE,
    )
    assert row(result, 2)["person_id"] != khoi_id and row(result, 2)["rule"] != "SIBLING_MATCH"


def test_a_blank_id_dose_with_a_name_typo_is_vouched_for_by_the_same_phone_and_birth_date():
    # Dose 2 was typed "Lê Thị Lam" without an ID; dose 1, her own CCCD, carries the same phone and birth date.
    result = link(
        doses(
            dose("Lê Thị Lan", "1990-05-02", "Nữ", LAN_ID, phone="0901234567"),
            dose("Lê Thị Lam", "1990-05-02", "Nữ", None, phone="0901 234 567", on="2021-09-01", dose_number=2),
        ),
        PEOPLE,
    )
    dose_2 = row(result, 2)
    assert (dose_2["person_id"], dose_2["rule"], dose_2["evidence"]) == (LAN_ID, "SIBLING_MATCH", "sibling_record")
    assert fixes(result, 2)["full_name"] == ("NAME_TYPO", "auto")


def test_a_household_phone_with_two_linked_people_vouches_for_no_typo():
    # Twins Khôi and Khoa share the phone and the birth date; both are linked by their own IDs, so a third,
    # ID-less dose typed "Trần Minh Kho" is not decided by the phone: people decide.
    result = link(
        doses(
            dose("Trần Minh Khôi", "2004-07-09", "Nam", cccd(2004, "Nam", 21), phone="0912000111"),
            dose("Trần Minh Khoa", "2004-07-09", "Nam", cccd(2004, "Nam", 22), phone="0912000111"),
            dose("Trần Minh Kho", "2004-07-09", "Nam", None, phone="0912000111", on="2021-09-01", dose_number=2),
        ),
        PEOPLE,
    )
    assert row(result, 3)["rule"] != "SIBLING_MATCH" and row(result, 3)["person_id"] is None


def test_a_twin_missing_from_the_registry_is_never_vouched_to_his_brother():
    # Only Khôi is registered; his twin Khoa (one letter away) got two doses without an ID, same phone and birth date.
    khoi_id = cccd(2004, "Nam", 21)
    only_khoi = registry(person(khoi_id, "Trần Minh Khôi", "2004-07-09", "Nam", address="Phường 1, Quận 3"))
    result = link(
        doses(
            dose("Trần Minh Khôi", "2004-07-09", "Nam", khoi_id, phone="0912000111"),
            dose("Trần Minh Khoa", "2004-07-09", "Nam", None, phone="0912000111", on="2021-09-01"),
            dose("Trần Minh Khoa", "2004-07-09", "Nam", None, phone="0912000111", on="2021-10-01", dose_number=2),
        ),
        only_khoi,
    )
    assert [row(result, n)["person_id"] for n in (2, 3)] == [None, None]
