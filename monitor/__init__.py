"""spokeswatch monitor: config, daemon, CLI, rules, reports."""
