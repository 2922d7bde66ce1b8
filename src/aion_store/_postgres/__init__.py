"""The parts of ``aion_store.postgres`` that are PostgreSQL's alone: the schema and its
migrations (:mod:`.schema`) and group commit over the connection pool (:mod:`.group`)."""
