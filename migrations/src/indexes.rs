//! Index creation shared by the migrations.

use sea_orm_migration::prelude::*;

/// `CREATE [UNIQUE] INDEX name ON table (cols...)`.
fn index<T: Iden + Copy + 'static>(name: &str, table: T, cols: &[T], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    index.take()
}

/// Creates each `(name, columns, unique)` index on `table`.
pub(crate) async fn create_indexes<T: Iden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    indexes: &[(&str, &[T], bool)],
) -> Result<(), DbErr> {
    for (name, cols, unique) in indexes {
        manager.create_index(index(name, table, cols, *unique)).await?;
    }
    Ok(())
}
