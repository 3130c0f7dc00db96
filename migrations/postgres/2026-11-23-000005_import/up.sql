-- What `phonebase import leancloud` last wrote for each exported user, so that a re-run changes
-- nothing, a user changed in Phonebase since is not overwritten, and a conflict can name the
-- line its other party came from. No foreign key to users: a user deleted since the import is
-- recognised as such and not silently brought back.
CREATE TABLE imported_users (
    app_id       TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    -- SHA-256 of the exported record as last imported.
    digest       TEXT NOT NULL,
    -- Keyed hash of the exported sessionToken last adopted, if any.
    token_hash   TEXT,
    -- users.updated_at as the import wrote it; a different value means changed in Phonebase.
    written_at   TIMESTAMP NOT NULL,
    -- The run that wrote it (duplicates within one export are told apart from re-runs).
    run_id       TEXT NOT NULL,
    -- Where the record came from: "file:line".
    source       TEXT NOT NULL,
    imported_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
