//! The SQLite and PostgreSQL migrations describe the same schema: the same tables, the same
//! columns with the same (portable) types and nullability, and the same unique indexes. Both
//! backends share one `schema.rs`, so a column one folder forgot would fail only at run time on
//! that backend. Runs where PostgreSQL is configured (it needs both databases).

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use phonebase::store::{self, DbTarget};

use crate::helpers::TestDb;

/// table → column → (portable type, nullable)
type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;
/// table → sorted column lists of its unique indexes (primary keys included)
type Uniques = BTreeMap<String, Vec<Vec<String>>>;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct PgUnique {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
}

/// The type family both backends agree on (what `schema.rs` can name for both).
fn portable(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let family = match t.as_str() {
        "text" | "character varying" | "varchar" => "text",
        "integer" | "int" | "int4" | "smallint" => "integer",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "bool",
        "blob" | "bytea" => "binary",
        "timestamp" | "timestamp without time zone" | "datetime" => "timestamp",
        "double precision" | "real" | "double" | "float8" => "double",
        other => other,
    };
    family.to_string()
}

fn sqlite_schema(path: &str) -> (Columns, Uniques) {
    let mut c = SqliteConnection::establish(path).unwrap();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations'",
    )
    .load(&mut c)
    .unwrap();
    let (mut columns, mut uniques) = (Columns::new(), Uniques::new());
    for Name { name: table } in tables {
        let cols: Vec<SqliteColumn> = diesel::sql_query(format!(
            "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info('{table}')"
        ))
        .load(&mut c)
        .unwrap();
        let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name.clone())).collect();
        pk.sort();
        let entry = columns.entry(table.clone()).or_default();
        for col in &cols {
            // A primary-key column is NOT NULL on PostgreSQL whatever it declares.
            entry.insert(col.name.clone(), (portable(&col.r#type), !(col.not_null || col.pk > 0)));
        }
        let mut sets = Vec::new();
        if !pk.is_empty() {
            let mut cols: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
            cols.sort();
            sets.push(cols);
        }
        let indexes: Vec<SqliteIndex> =
            diesel::sql_query(format!("SELECT name, \"unique\" AS is_unique FROM pragma_index_list('{table}')"))
                .load(&mut c)
                .unwrap();
        for index in indexes.into_iter().filter(|i| i.is_unique) {
            let mut cols: Vec<String> = diesel::sql_query(format!(
                "SELECT name FROM pragma_index_info('{}') WHERE name IS NOT NULL",
                index.name
            ))
            .load::<Name>(&mut c)
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
            cols.sort();
            // Expression indexes (e.g. lower(email)) list no column names.
            if !cols.is_empty() && !sets.contains(&cols) {
                sets.push(cols);
            }
        }
        sets.sort();
        uniques.insert(table, sets);
    }
    (columns, uniques)
}

fn pg_schema(url: &str) -> (Columns, Uniques) {
    let mut c = PgConnection::establish(url).unwrap();
    let cols: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut c)
    .unwrap();
    let mut columns = Columns::new();
    for col in cols {
        columns.entry(col.table_name).or_default().insert(col.column_name, (portable(&col.data_type), col.nullable));
    }
    let unique: Vec<PgUnique> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, \
                string_agg(a.attname::text, ',' ORDER BY a.attname) AS columns \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) \
         WHERE n.nspname = 'public' AND i.indisunique AND t.relname <> '__diesel_schema_migrations' \
         GROUP BY t.relname, i.indexrelid",
    )
    .load(&mut c)
    .unwrap();
    let mut uniques = Uniques::new();
    for table in columns.keys() {
        uniques.insert(table.clone(), Vec::new());
    }
    for u in unique {
        let cols: Vec<String> = u.columns.split(',').map(str::to_string).collect();
        let sets = uniques.entry(u.table_name).or_default();
        if !sets.contains(&cols) {
            sets.push(cols);
        }
    }
    for sets in uniques.values_mut() {
        sets.sort();
    }
    (columns, uniques)
}

#[test]
fn sqlite_and_postgres_migrations_describe_the_same_schema() {
    let pg = TestDb::new();
    if !pg.is_postgres() {
        eprintln!("skipped: needs PHONEBASE_TEST_DATABASE_URL (compares SQLite with PostgreSQL)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite_path = dir.path().join("schema.db").display().to_string();
    store::migrate(&DbTarget::parse(&format!("sqlite://{sqlite_path}")).unwrap()).unwrap();
    store::migrate(&DbTarget::parse(&pg.url).unwrap()).unwrap();

    let (sqlite_columns, sqlite_uniques) = sqlite_schema(&sqlite_path);
    let (pg_columns, pg_uniques) = pg_schema(&pg.url);
    assert!(sqlite_columns.len() > 10, "the SQLite schema was read: {:?}", sqlite_columns.keys());
    // What is compared is really read, on both sides.
    for columns in [&sqlite_columns, &pg_columns] {
        assert_eq!(columns["users"]["id"], ("text".to_string(), false));
        assert_eq!(columns["users"]["created_at"], ("timestamp".to_string(), false));
    }
    for uniques in [&sqlite_uniques, &pg_uniques] {
        assert!(uniques["users"].contains(&vec!["id".to_string()]), "{:?}", uniques["users"]);
        assert!(uniques["users"].len() > 1, "{:?}", uniques["users"]);
    }
    eprintln!("compared {} tables; unique sets of users: {:?}", sqlite_columns.len(), sqlite_uniques["users"]);
    assert_eq!(
        sqlite_columns.keys().collect::<Vec<_>>(),
        pg_columns.keys().collect::<Vec<_>>(),
        "the same tables on both backends"
    );
    for (table, columns) in &sqlite_columns {
        assert_eq!(columns, &pg_columns[table], "columns of {table} (type, nullable): SQLite left, PostgreSQL right");
    }
    for (table, sets) in &sqlite_uniques {
        assert_eq!(sets, &pg_uniques[table], "unique column sets of {table}: SQLite left, PostgreSQL right");
    }
}
