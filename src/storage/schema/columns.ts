import type { Generated } from 'kysely';

/**
 * The column kinds the migrations use, one name for both dialects (DATA_TYPES says what each
 * database calls it). Timestamps are `timestamptz` on PostgreSQL and ISO 8601 text on SQLite,
 * read back as ISO strings on both; serial ids are bigserial / integer autoincrement, read back as
 * numbers; booleans are 0/1 integers (SQLite has no boolean type; the repositories convert).
 */
export type ColumnKind = 'text' | 'integer' | 'bigint' | 'real' | 'timestamp' | 'serial';

/** What each database reports for a column kind (Kysely's introspection, lower case). */
export const DATA_TYPES: Record<ColumnKind, { sqlite: string; postgres: string }> = {
  text: { sqlite: 'text', postgres: 'text' },
  integer: { sqlite: 'integer', postgres: 'int4' },
  bigint: { sqlite: 'bigint', postgres: 'int8' },
  real: { sqlite: 'real', postgres: 'float8' },
  timestamp: { sqlite: 'text', postgres: 'timestamptz' },
  serial: { sqlite: 'integer', postgres: 'int8' },
};

/** Timestamps: written and read as ISO 8601 strings. */
export type Timestamp = string;

/**
 * One column: its kind, whether it may be NULL, whether the database fills it when an insert
 * leaves it out (a default, or a serial). `T` is the TypeScript type of a value; it exists only
 * for the type of the table (TableType), never at run time.
 */
export interface Column<T, N extends boolean, D extends boolean> {
  readonly kind: ColumnKind;
  readonly isNullable: N;
  readonly hasDefault: D;
  /** Phantom: carries T for TableType; never set at run time. */
  readonly valueType?: T;
  /** The same column, NULL allowed. */
  orNull(): Column<T, true, D>;
  /** The same column, filled by the database when an insert leaves it out. */
  withDefault(): Column<T, N, true>;
}

function column<T, N extends boolean, D extends boolean>(kind: ColumnKind, isNullable: N, hasDefault: D): Column<T, N, D> {
  return {
    kind,
    isNullable,
    hasDefault,
    orNull: () => column<T, true, D>(kind, true, hasDefault),
    withDefault: () => column<T, N, true>(kind, isNullable, true),
  };
}

/** Text; `T` narrows it to a union of words (`text<'rpm' | 'deb'>()`). */
export const text = <T extends string = string>(): Column<T, false, false> => column<T, false, false>('text', false, false);
export const integer = <T extends number = number>(): Column<T, false, false> => column<T, false, false>('integer', false, false);
export const bigint = (): Column<number, false, false> => column<number, false, false>('bigint', false, false);
export const real = (): Column<number, false, false> => column<number, false, false>('real', false, false);
export const timestamp = (): Column<Timestamp, false, false> => column<Timestamp, false, false>('timestamp', false, false);
/** An id the database numbers (bigserial, integer primary key autoincrement). */
export const serial = (): Column<number, false, true> => column<number, false, true>('serial', false, true);

export type AnyColumn = Column<unknown, boolean, boolean>;

/** One table: its columns, its primary key, and its other indexes as `introspectSchema` writes them. */
export interface TableDef<C extends Record<string, AnyColumn> = Record<string, AnyColumn>> {
  readonly columns: C;
  readonly primaryKey: readonly string[];
  /** `unique (a, b)` or `index (a, b desc)`, ` partial` when the index has a WHERE clause. */
  readonly indexes: readonly string[];
  /** On SQLite, the rows live in the primary key's B-tree (WITHOUT ROWID); PostgreSQL has no such thing. */
  readonly sqliteWithoutRowid?: true;
}

/** Declares a table (keeps the column types for TableType). */
export function table<C extends Record<string, AnyColumn>>(def: TableDef<C> & { readonly primaryKey: readonly (keyof C & string)[] }): TableDef<C> {
  return def;
}

type ValueOf<C> = C extends { readonly valueType?: infer T; readonly isNullable: infer N } ? (N extends true ? T | null : T) : never;
type ColumnTs<C> = C extends { readonly hasDefault: true } ? Generated<ValueOf<C>> : ValueOf<C>;

/** The TypeScript row type Kysely works with, derived from the table's description. */
export type TableType<D extends { readonly columns: Record<string, AnyColumn> }> = { -readonly [K in keyof D['columns']]: ColumnTs<D['columns'][K]> };
