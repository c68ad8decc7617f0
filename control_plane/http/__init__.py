"""HTTP helpers shared by every domain's routes: dependencies, middleware, problem responses,
byte ranges, small HTML pages, the client address, and the health and blob endpoints."""
