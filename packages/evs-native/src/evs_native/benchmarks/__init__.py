"""Built-in benchmarks. Each module is imported only when its benchmark is used."""
