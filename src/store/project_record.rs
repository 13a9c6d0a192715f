//! The project record (`project_v1`): the one row of a store that belongs to a project. The
//! store keeps its bytes; [`crate::project`] encodes and decodes them.

use rusqlite::OptionalExtension;

use super::{Error, Store};

impl Store {
    /// The stored project record, if the store belongs to a project.
    pub fn project_record(&self) -> Result<Option<Vec<u8>>, Error> {
        self.run("reading the project record", |conn| {
            Ok(conn
                .query_row("SELECT config FROM project_v1 WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    /// Stores `record` as the project record, replacing any before.
    pub fn save_project_record(&self, record: &[u8]) -> Result<(), Error> {
        self.run("saving the project record", |conn| {
            conn.execute(
                "INSERT INTO project_v1(id, config) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET config = excluded.config",
                [record],
            )?;
            Ok(())
        })
    }
}
