"""The parts of ``aion_store.sqlite`` that are SQLite's alone: the file's schema and its
migrations (:mod:`.schema`), and the threads that own its connections (:mod:`.threads`)."""
