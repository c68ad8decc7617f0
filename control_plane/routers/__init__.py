"""HTTP routers, one per domain. Routers parse and check, then delegate."""
