"""Posts: their routes, bodies, statements and writes."""
