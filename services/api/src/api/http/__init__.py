"""HTTP plumbing every resource shares: limits, hosts, strict JSON, errors, paging, docs."""
