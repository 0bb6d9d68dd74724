"""The users and groups a fresh fake instance holds (names and sys_ids from ServiceNow's demo
data), so incidents have someone to reference."""

from __future__ import annotations

from conveyor.testing.fakes.servicenow.store import Store

__all__ = ["GROUPS", "USERS", "seed_people"]

#: ``(sys_id, user_name, first_name, last_name)``; the first is the integration user.
USERS = (
    ("6816f79cc0a8016401c5a33be04be441", "admin", "System", "Administrator"),
    ("46d44a23a9fe19810012d100cca80666", "beth.anglin", "Beth", "Anglin"),
    ("5137153cc611227c000bbd1bd8cd2005", "david.loo", "David", "Loo"),
    ("62826bf03710200044e0bfc8bcbe5df1", "abel.tuter", "Abel", "Tuter"),
)
#: ``(sys_id, name, manager user_name)``.
GROUPS = (
    ("d625dccec0a8016700a222a0f7900d06", "Service Desk", "beth.anglin"),
    ("287ebd7da9fe198100f92cc8d1d2154e", "Network", "david.loo"),
    ("8a5055c9c61122780043563ef53438e3", "Hardware", "abel.tuter"),
    ("8a4dde73c6112278017a6a4baf547aa7", "Software", "beth.anglin"),
)


def seed_people(store: Store, integration_user: str) -> None:
    """Write the demo users and groups; ``integration_user`` becomes the first user's name (or
    is added) so writes can name who opened a record."""
    ids: dict[str, str] = {}
    now = store.now()
    for number, (sys_id, user_name, first, last) in enumerate(USERS):
        name = integration_user if number == 0 else user_name
        values = {
            "sys_id": sys_id,
            "user_name": name,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": f"{user_name}@example.com",
        }
        store.add("sys_user", values, "system", now)
        ids[user_name] = sys_id
    for sys_id, name, manager in GROUPS:
        values = {
            "sys_id": sys_id,
            "name": name,
            "manager": ids[manager],
            "email": f"{name.lower().replace(' ', '.')}@example.com",
        }
        store.add("sys_user_group", values, "system", now)
