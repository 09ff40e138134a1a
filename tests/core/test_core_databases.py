import sqlite3

from caruso_core.databases import engine


def journal_mode(path):
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def test_sqlite_gets_write_ahead_logging_unless_it_is_someone_elses(tmp_path):
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    for path, wal in ((ours, True), (theirs, False)):
        with engine(f"sqlite:///{path}", wal=wal).connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    assert journal_mode(ours) == "wal"
    assert journal_mode(theirs) == "delete"
