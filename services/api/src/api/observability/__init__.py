"""What operators see of each request: its id (request_ids), the name of its route
(route_names), one access line and the request metrics (middleware, metrics)."""
