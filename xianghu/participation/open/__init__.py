"""The open government pages (政务公开, /open/): no login, every page with a JSON and a
CSV twin (`?format=json`, `?format=csv`), everything personal masked."""
