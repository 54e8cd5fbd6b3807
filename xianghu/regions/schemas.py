from ninja import Schema


class RegionOut(Schema):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None


class OrganisationOut(Schema):
    id: int
    name: str
    short_name: str
    kind: str
    kind_label: str
    region_code: str
    county_code: str | None
    township_code: str | None
    parent_id: int | None


class MemberOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    title: str
    phone_masked: str


class MemberIn(Schema):
    username: str
    role: str
    title: str = ""


class MembershipOut(Schema):
    id: int
    user_id: int
    organisation_id: int
    role: str
    title: str
    is_active: bool
