/** The two SQL dialects Bulwark speaks: SQLite (embedded, the default) and PostgreSQL. */
export type Dialect = 'sqlite' | 'postgres';
