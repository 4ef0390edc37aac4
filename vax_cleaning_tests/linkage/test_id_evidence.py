"""An exact ID with two recording errors: the combined evidence links it, never against the name or a relative."""

from vax_cleaning_tests.linkage.stories import cccd, dose, doses, link, person, registry, row

HOME = "Phường Tân Định, Quận Hóc Môn"
LINH_ID = cccd(1950, "Nữ", 836)
LINH_CMND = "025836001"
LINH = person(LINH_ID, "Phan Thị Linh", "1950-01-20", "Nữ", old_id=LINH_CMND, address=HOME)
# A namesake born in 1941 (only the year is registered), in another commune.
LINH_1941 = person(cccd(1941, "Nữ", 837), "Phan Thị Linh", "1941", "Nữ", address="Phường Tăng Nhơn Phú, Quận Đống Đa")
PEOPLE = registry(LINH, LINH_1941)


def written(name: str, dob: str, id_number: str | None, address: str | None = HOME) -> dict:
    """A dose of Bà Linh as a site typed it."""
    return {**dose(name, dob, "Nữ", id_number), "address": address}


def test_a_birth_year_typed_wrong_is_explained_by_her_own_cccd():
    # The site typed 1941 for 1950; her CCCD (which encodes 1950) and her commune say who she is.
    result = link(doses(written("Phan Thị Linh", "1941-01-20", LINH_ID)), PEOPLE)
    linh = row(result)
    assert (linh["match_status"], linh["person_id"], linh["rule"]) == ("corrected", LINH_ID, "ID_MATCH")
    assert linh["id_embedded_level"] == "year_disagrees"


def test_an_unrelated_birth_date_with_her_own_id_is_explained_by_the_cccd_year():
    result = link(doses(written("Phan Thị Linh", "1955-11-02", LINH_ID)), PEOPLE)
    linh = row(result)
    assert (linh["match_status"], linh["person_id"], linh["evidence"]) == ("corrected", LINH_ID, "cccd_birth_year")


def test_old_cmnd_with_a_name_typo_and_the_year_off_by_one_links_on_the_combined_evidence():
    # Her old 9-digit CMND (no birth year in it), two recording errors, her commune: the evidence adds up.
    result = link(doses(written("Phan Thi Lin", "1951-01-20", LINH_CMND)), PEOPLE)
    linh = row(result)
    assert (linh["match_status"], linh["person_id"], linh["evidence"]) == ("corrected", LINH_ID, "combined_weight")


def test_the_same_errors_written_with_another_commune_stay_in_review():
    # -20 + 20 (CMND) + 1 (typo) + 5.5 (year off by one) + 1 (gender) + 3 (province) - 1 (other commune) = 9.5 < 10
    result = link(doses(written("Phan Thi Lin", "1951-01-20", LINH_CMND, "Xã Tân Phú, Huyện Củ Chi")), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("review", None)


def test_a_birth_date_that_agrees_with_the_id_year_but_not_the_person_stays_in_review():
    # The CCCD says 1950 and so does the record: the date itself is unrelated, nothing explains it.
    result = link(doses(written("Phan Thị Linh", "1950-11-02", LINH_ID)), PEOPLE)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "ID_OWNER_MISMATCH")


def test_a_relatives_id_with_another_name_is_never_linked_to_its_owner():
    # Her daughter, not in the registry, was vaccinated with her mother's CCCD.
    result = link(doses(written("Lê Thị Hoa", "1975-06-02", LINH_ID)), PEOPLE)
    assert row(result)["person_id"] is None


def test_a_namesake_elsewhere_born_on_the_very_date_written_does_not_outweigh_her_cccd_and_commune():
    # The site typed 20/01/1941 for Linh (1950); another Phan Thị Linh, in another commune, was born 20/01/1941.
    namesake = person(cccd(1941, "Nữ", 838), "Phan Thị Linh", "1941-01-20", "Nữ", address="Xã Tân Phú, Huyện Củ Chi")
    result = link(doses(written("Phan Thị Linh", "1941-01-20", LINH_ID)), registry(LINH, namesake))
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", LINH_ID)
    # Without the address written the namesake's exact birth date is the stronger claim: people decide.
    result = link(doses(written("Phan Thị Linh", "1941-01-20", LINH_ID, address=None)), registry(LINH, namesake))
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "ID_CONFLICT")


def test_a_son_named_after_his_father_using_the_fathers_id_is_not_linked_to_the_father():
    # The son (not in the registry) carries his father's CCCD; the birth year written is a generation away.
    bao_id = cccd(1950, "Nam", 901)
    father = person(bao_id, "Nguyễn Văn Bảo", "1950-03-13", "Nam", address=HOME)
    son = {**dose("Nguyễn Văn Bảo", "1980-09-02", "Nam", bao_id), "address": HOME}
    assert row(link(doses(son), registry(father)))["person_id"] is None
