"""The demo region into the database: region tree, farms, houses, flocks, gateways, demo users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import psycopg

from cloud.api.security import hash_password
from firmware_sim.scenario import Farm, Scenario

PROVINCE = "cq"
LOGIN_FARM = "F17"  # the demo farmer's farm: the first to meet the township's HPAI-like outbreak


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    sees: str


def farmer_login(farm_id: str) -> str:
    return "farmer" if farm_id == LOGIN_FARM else f"farmer-{farm_id.lower()}"


def cloud_house_id(farm_id: str, house: str) -> str:
    """House ids are per farm in the simulator, global in the cloud."""
    return f"{farm_id}-{house}"


def township_id(farm_or_county: str, township: str) -> str:
    return f"{farm_or_county}.{township}"


def village_id(county: str, township: str, index: int) -> str:
    return f"{county}.{township}.v{index + 1}"


def _farm_region(scenario: Scenario, farm: Farm) -> str:
    township = next(t for t in scenario.county(farm.county).townships if t.id == farm.township)
    if farm.village and farm.village in township.villages:
        return village_id(farm.county, farm.township, township.villages.index(farm.village))
    return township_id(farm.county, farm.township)


def seed(conn: psycopg.Connection, scenario: Scenario, password: str = "demo") -> list[DemoLogin]:
    """Write the scenario's world; returns the demo logins (one per role)."""
    regions: list[tuple[str, str | None, str, str, str | None]] = [
        (PROVINCE, None, "province", scenario.province, "Chongqing")
    ]
    for county in scenario.counties:
        regions.append((county.id, PROVINCE, "county", county.name, county.id.title()))
        for township in county.townships:
            tid = township_id(county.id, township.id)
            regions.append((tid, county.id, "township", township.name, township.id.title()))
            for i, village in enumerate(township.villages):
                regions.append((village_id(county.id, township.id, i), tid, "village", village, None))
    conn.cursor().executemany(
        "INSERT INTO regions (id, parent_id, level, name, name_en) VALUES (%s, %s, %s, %s, %s)", regions
    )
    farms = scenario.all_farms()
    login_farm = next((f for f in farms if f.id == LOGIN_FARM), farms[0])
    login_county = scenario.county(login_farm.county)
    logins = [
        DemoLogin("farmer", password, "farmer", f"farm {login_farm.id} {login_farm.name}"),
        DemoLogin("technician", password, "technician", f"{login_county.name}"),
        DemoLogin("staff", password, "program_staff", scenario.province),
        DemoLogin("admin", password, "admin", "everything"),
    ]
    secret = hash_password(password)  # one hash for every demo account: argon2 is slow on purpose

    def user(username: str, role: str, name: str, phone: str | None) -> int:
        row = conn.execute(
            "INSERT INTO users (username, password_hash, role, display_name, phone) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (username, secret, role, name, phone),
        ).fetchone()
        assert row is not None
        return int(row[0])

    scopes: list[tuple[int, str | None, str | None]] = []
    for i, county in enumerate(scenario.counties):
        tech = user("technician" if county.id == login_county.id else f"tech-{county.id}", "technician",
                    f"{county.name}技术员", f"+86139{i:08d}")
        scopes.append((tech, None, county.id))
    staff = user("staff", "program_staff", "项目办", "+8613700000000")
    scopes.append((staff, None, PROVINCE))
    user("admin", "admin", "管理员", None)
    for farm in farms:
        username = farmer_login(farm.id)
        owner = user(username, "farmer", farm.owner or farm.name, farm.phone.replace(" ", "") or None)
        scopes.append((owner, farm.id, None))
        conn.execute(
            "INSERT INTO farms (id, name, region_id, owner_user_id, kind, lat, lon) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (farm.id, farm.name or farm.id, _farm_region(scenario, farm), owner,
             "commercial" if any(h.kind == "closed" for h in farm.houses) else "backyard", farm.lat, farm.lon),
        )
        conn.execute("INSERT INTO gateways (id, farm_id) VALUES (%s, %s)", (farm.gateway, farm.id))
        for house in farm.houses:
            house_id = cloud_house_id(farm.id, house.id)
            conn.execute("INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, %s)",
                         (house_id, farm.id, f"{house.id}"))
            flock = house.flock
            conn.execute(
                "INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, birds_now) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (flock.id, house_id, flock.breed, scenario.start + timedelta(days=flock.placed_day),
                 flock.birds, flock.birds),
            )
            if house.camera:
                conn.execute("INSERT INTO cameras (gateway_id, id, house_id) VALUES (%s, %s, %s)",
                             (farm.gateway, f"{house.id}-cam", house_id))
    conn.cursor().executemany("INSERT INTO user_scopes (user_id, farm_id, region_id) VALUES (%s, %s, %s)", scopes)
    return logins
