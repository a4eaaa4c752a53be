"""Users: their routes, bodies, statements and writes."""
