//! The SQL statements of the original and row conversion.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

use crate::load::LoadError;
use crate::tree::{Row, RowChange, TYPE_FILE};

const SELECT: &str = "SELECT inode, parent, version, writer, mtime, type, name, data FROM tree;";
const REPLACE: &str = "REPLACE INTO tree (inode, parent, version, writer, mtime, type, name, \
                       data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8);";
const DELETE: &str = "DELETE FROM tree WHERE inode = ?1;";

fn to_i64(v: u64) -> rusqlite::Result<i64> {
    i64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Row, LoadError>> {
    let inode: i64 = r.get(0)?;
    let ints: [i64; 5] = [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?];
    let bad = |what: &str| {
        Ok(Err(LoadError::BadValue {
            inode: inode as u64,
            what: what.to_string(),
        }))
    };
    let name = match r.get_ref(6)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => match String::from_utf8(b.to_vec()) {
            Ok(s) => s,
            Err(_) => return bad("name is not valid UTF-8"),
        },
        _ => return bad("name is not text"),
    };
    let data = match r.get_ref(7)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
        _ => return bad("data is not a blob"),
    };
    let (Ok(inode), Ok(parent), Ok(version)) = (
        u64::try_from(inode),
        u64::try_from(ints[0]),
        u64::try_from(ints[1]),
    ) else {
        return bad("negative inode, parent or version");
    };
    let (Ok(writer), Ok(mtime), Ok(kind)) = (
        u32::try_from(ints[2]),
        u32::try_from(ints[3]),
        u8::try_from(ints[4]),
    ) else {
        return bad("writer, mtime or type out of range");
    };
    Ok(Ok(Row {
        inode,
        parent,
        version,
        writer,
        mtime,
        kind,
        name,
        data,
    }))
}

pub(crate) fn load_rows(conn: &Connection) -> Result<Vec<Row>, Result<rusqlite::Error, LoadError>> {
    let mut stmt = conn.prepare_cached(SELECT).map_err(Ok)?;
    let rows = stmt.query_map([], read_row).map_err(Ok)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(Ok)?.map_err(Err)?);
    }
    Ok(out)
}

pub(crate) fn write_changes(conn: &Connection, changes: &[RowChange]) -> rusqlite::Result<()> {
    for change in changes {
        match change {
            RowChange::Replace(row) => replace(conn, row)?,
            RowChange::Delete(inode) => {
                conn.prepare_cached(DELETE)?.execute([to_i64(*inode)?])?;
            }
            RowChange::Version {
                version,
                writer,
                mtime,
            } => replace(
                conn,
                &RowChange::version_row(*version, *writer, *mtime, TYPE_FILE),
            )?,
        }
    }
    Ok(())
}

fn replace(conn: &Connection, row: &Row) -> rusqlite::Result<()> {
    let n = conn.prepare_cached(REPLACE)?.execute(params![
        to_i64(row.inode)?,
        to_i64(row.parent)?,
        to_i64(row.version)?,
        row.writer,
        row.mtime,
        row.kind,
        row.name,
        row.data,
    ])?;
    if n != 1 {
        return Err(rusqlite::Error::StatementChangedRows(n));
    }
    Ok(())
}
