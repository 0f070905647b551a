import { stripVTControlCharacters } from 'node:util'
import { getDMMF, type GetDMMFError } from '@prisma/get-dmmf'
import type { Connection } from 'mariadb'

type Datamodel = Exclude<ReturnType<typeof getDMMF>, GetDMMFError>['datamodel']
type Model = Datamodel['models'][number]
type Field = Model['fields'][number]
type SchemaIndex = Datamodel['indexes'][number]
type SchemaEnum = Datamodel['enums'][number]

interface DatabaseColumn {
  type: string
  nullable: boolean
}

/** An index or a foreign key: a named, ordered list of columns of one table. */
interface ColumnList {
  table: string
  name: string
  columns: string[]
}

interface DatabaseIndex extends ColumnList {
  unique: boolean
  fulltext: boolean
}

interface DatabaseSchema {
  tables: Map<string, Map<string, DatabaseColumn>>
  indexes: DatabaseIndex[]
  foreignKeys: ColumnList[]
}

interface ExpectedIndex extends DatabaseIndex {
  /** How the schema declares it, e.g. `User.email @unique` or `RevokedToken @@index([expiresAt])`. */
  label: string
}

const MIGRATIONS_TABLE = '_prisma_migrations'

/**
 * Compares a Prisma schema (the text of schema.prisma) with the tables of the session's current database:
 * tables, columns (type and nullability) and indexes (name, columns in order, uniqueness), in both
 * directions. Returns one readable message per disagreement, naming the model, field, table and column;
 * empty when they agree. Throws when the schema does not parse.
 */
export async function findSchemaDrift(datamodel: string, session: Connection): Promise<string[]> {
  const schema = parseDatamodel(datamodel)
  const database = await readDatabaseSchema(session)
  return [...schema.models.flatMap((model) => modelDrift(model, schema, database)), ...unknownTables(schema, database)]
}

function parseDatamodel(datamodel: string): Datamodel {
  const result = getDMMF({ datamodel })
  if ('datamodel' in result) return result.datamodel
  throw new Error(`The Prisma schema does not parse: ${describeSchemaError(result)}`, { cause: result.error })
}

/** Validation errors arrive as JSON wrapping an ANSI-coloured report; keep the readable part. */
function describeSchemaError({ type, error }: GetDMMFError): string {
  try {
    const { message } = JSON.parse(error.message) as { message?: unknown }
    if (typeof message === 'string') return stripVTControlCharacters(message)
  } catch {
    // Not JSON: report it as it came.
  }
  return `${type}: ${error.message}`
}

function modelDrift(model: Model, schema: Datamodel, database: DatabaseSchema): string[] {
  const table = tableName(model)
  const columns = database.tables.get(table)
  if (!columns) return [`${model.name}: table ${table} is missing`]
  const declaredIndexes = schema.indexes.filter((index) => index.model === model.name)
  return [
    ...storedFields(model).flatMap((field) => fieldDrift(model, field, columns, schema.enums)),
    ...unknownColumns(model, columns),
    ...indexDrift(model, declaredIndexes.map((index) => expectedIndex(model, index)), database),
  ]
}

function fieldDrift(model: Model, field: Field, columns: Map<string, DatabaseColumn>, enums: readonly SchemaEnum[]): string[] {
  const subject = `${model.name}.${field.name}: column ${tableName(model)}.${columnName(field)}`
  const column = columns.get(columnName(field))
  if (!column) return [`${subject} is missing`]
  const problems: string[] = []
  const expected = expectedColumnType(field, enums)
  if (expected === undefined) {
    problems.push(`${subject}: no known MySQL column type for ${describeFieldType(field)} (teach test/helpers/schema-drift.ts)`)
  } else if (!columnTypesMatch(expected, column.type)) {
    problems.push(`${subject} is ${column.type}, expected ${expected}`)
  }
  if (column.nullable === field.isRequired) {
    const nullability = column.nullable ? 'NULL' : 'NOT NULL'
    problems.push(`${subject} is ${nullability}, but the field is ${field.isRequired ? 'required' : 'optional'}`)
  }
  return problems
}

function unknownColumns(model: Model, columns: Map<string, DatabaseColumn>): string[] {
  const table = tableName(model)
  const known = new Set(storedFields(model).map(columnName))
  return [...columns]
    .filter(([name]) => !known.has(name))
    .map(([name, { type }]) => `${model.name}: column ${table}.${name} (${type}) is in the database but not in the schema`)
}

function unknownTables(schema: Datamodel, database: DatabaseSchema): string[] {
  const known = new Set(schema.models.map(tableName))
  return [...database.tables.keys()]
    .filter((table) => table !== MIGRATIONS_TABLE && !known.has(table))
    .map((table) => `table ${table} is in the database but no model maps to it`)
}

/**
 * Matches declared indexes to the table's indexes by name first, then by columns (to report a rename
 * rather than a missing plus an unknown index). What is left over in the database is unknown.
 */
function indexDrift(model: Model, expected: ExpectedIndex[], database: DatabaseSchema): string[] {
  const table = tableName(model)
  const unclaimed = new Map(database.indexes.filter((index) => index.table === table).map((index) => [index.name, index]))
  const claim = (index: DatabaseIndex | undefined): DatabaseIndex | undefined => {
    if (index) unclaimed.delete(index.name)
    return index
  }
  const byName = expected.map((index) => ({ index, found: claim(unclaimed.get(index.name)) }))
  const problems = byName.flatMap(({ index, found }) => {
    const match = found ?? claim([...unclaimed.values()].find((candidate) => sameColumns(candidate.columns, index.columns)))
    return match ? compareIndex(index, match) : [`${index.label}: index ${index.name} on ${describeColumns(index)} is missing`]
  })
  const undeclared = [...unclaimed.values()].filter((index) => !isImplicitForeignKeyIndex(index, database.foreignKeys))
  return [
    ...problems,
    ...undeclared.map(
      (index) => `${model.name}: index ${index.name} on ${describeColumns(index)} is in the database but not in the schema`,
    ),
  ]
}

function compareIndex(expected: ExpectedIndex, found: DatabaseIndex): string[] {
  const subject = `${expected.label}: index ${found.name} on ${describeColumns(found)}`
  const problems: string[] = []
  if (found.name !== expected.name) problems.push(`${subject} should be named ${expected.name}`)
  if (!sameColumns(found.columns, expected.columns)) problems.push(`${subject} should be on ${describeColumns(expected)}`)
  if (found.unique !== expected.unique) {
    problems.push(`${subject} is ${flag(found.unique, 'unique')}, expected ${flag(expected.unique, 'unique')}`)
  }
  if (found.fulltext !== expected.fulltext) {
    problems.push(`${subject} is ${flag(found.fulltext, 'FULLTEXT')}, expected ${flag(expected.fulltext, 'FULLTEXT')}`)
  }
  return problems
}

function flag(value: boolean, word: string): string {
  return value ? word : `not ${word}`
}

/**
 * InnoDB needs an index starting with a foreign key's columns. When none exists it creates one itself,
 * named after the constraint, and drops it again once a declared index covers those columns (checked on
 * MariaDB 10.11). So an index named like a foreign key, on exactly its columns, exists only because the
 * schema declares no covering index; Prisma's MySQL migrations rely on it too and never declare it.
 */
function isImplicitForeignKeyIndex(index: DatabaseIndex, foreignKeys: ColumnList[]): boolean {
  return foreignKeys.some(
    (key) => key.table === index.table && key.name === index.name && sameColumns(key.columns, index.columns),
  )
}

function expectedIndex(model: Model, index: SchemaIndex): ExpectedIndex {
  const table = tableName(model)
  const columns = index.fields.map(({ name }) => columnName(model.fields.find((field) => field.name === name) ?? { name }))
  return {
    label: indexLabel(model, index),
    table,
    name: index.dbName ?? defaultIndexName(table, columns, index.type),
    columns,
    unique: index.type === 'id' || index.type === 'unique',
    fulltext: index.type === 'fulltext',
  }
}

/** Prisma's default constraint names on MySQL; a primary key is always called PRIMARY there. */
function defaultIndexName(table: string, columns: string[], type: SchemaIndex['type']): string {
  if (type === 'id') return 'PRIMARY'
  return `${table}_${columns.join('_')}_${type === 'unique' ? 'key' : 'idx'}`
}

function indexLabel(model: Model, index: SchemaIndex): string {
  const attribute = { id: 'id', unique: 'unique', normal: 'index', fulltext: 'fulltext' }[index.type]
  const fields = index.fields.map(({ name }) => name)
  return index.isDefinedOnField
    ? `${model.name}.${fields.join(', ')} @${attribute}`
    : `${model.name} @@${attribute}([${fields.join(', ')}])`
}

const PRISMA_DEFAULT_COLUMN_TYPES: Record<string, string> = {
  String: 'varchar(191)',
  Boolean: 'tinyint(1)',
  Int: 'int',
  BigInt: 'bigint',
  Float: 'double',
  Decimal: 'decimal(65,30)',
  DateTime: 'datetime(3)',
  Json: 'json',
  Bytes: 'longblob',
}

// Prisma's MySQL native types (@db.X) name the column type itself: @db.VarChar(254) is varchar(254),
// @db.UnsignedInt is int unsigned.
const MYSQL_NATIVE_TYPES = new Set([
  'TinyInt', 'SmallInt', 'MediumInt', 'Int', 'BigInt', 'Decimal', 'Float', 'Double', 'Bit',
  'Char', 'VarChar', 'TinyText', 'Text', 'MediumText', 'LongText',
  'Binary', 'VarBinary', 'TinyBlob', 'Blob', 'MediumBlob', 'LongBlob',
  'Date', 'Time', 'DateTime', 'Timestamp', 'Year', 'Json',
])

/** The COLUMN_TYPE a field should have (normalised like the database's), or undefined if unknown. */
function expectedColumnType(field: Field, enums: readonly SchemaEnum[]): string | undefined {
  if (field.kind === 'enum') {
    const values = enums.find((candidate) => candidate.name === field.type)?.values
    return values && `enum(${values.map((value) => `'${(value.dbName ?? value.name).replaceAll("'", "''")}'`).join(',')})`
  }
  if (!field.nativeType) return PRISMA_DEFAULT_COLUMN_TYPES[field.type]
  const [name, args] = field.nativeType
  const unsigned = name.startsWith('Unsigned')
  const base = unsigned ? name.slice('Unsigned'.length) : name
  if (!MYSQL_NATIVE_TYPES.has(base)) return undefined
  return `${base.toLowerCase()}${args.length > 0 ? `(${args.join(',')})` : ''}${unsigned ? ' unsigned' : ''}`
}

/** MariaDB's JSON is an alias of LONGTEXT (with a json_valid CHECK), and it reports it as such. */
function columnTypesMatch(expected: string, actual: string): boolean {
  return actual === expected || (expected === 'json' && actual === 'longtext')
}

/**
 * MariaDB, and MySQL before 8.0.19, show a display width on integer types, e.g. int(11). It changes
 * nothing, except that tinyint(1) is how Prisma's Boolean looks on both.
 */
function normalizeColumnType(columnType: string): string {
  const type = columnType.toLowerCase()
  return type.startsWith('tinyint(1)') ? type : type.replace(/^(tinyint|smallint|mediumint|int|bigint|year)\(\d+\)/, '$1')
}

function describeFieldType(field: Field): string {
  if (!field.nativeType) return field.type
  const [name, args] = field.nativeType
  return `${field.type} @db.${name}${args.length > 0 ? `(${args.join(', ')})` : ''}`
}

function storedFields(model: Model): Field[] {
  return model.fields.filter((field) => field.kind !== 'object')
}

function tableName(model: Model): string {
  return model.dbName ?? model.name
}

function columnName(field: Pick<Field, 'name' | 'dbName'>): string {
  return field.dbName ?? field.name
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i])
}

function describeColumns({ table, columns }: ColumnList): string {
  return `${table}(${columns.join(', ')})`
}

interface ColumnRow {
  tableName: string
  columnName: string
  columnType: string
  isNullable: 'YES' | 'NO'
}

/** One row per column of an index or foreign key, in column order. */
interface ColumnListRow {
  tableName: string
  name: string
  columnName: string
}

interface IndexRow extends ColumnListRow {
  nonUnique: number | bigint
  indexType: string
}

async function readDatabaseSchema(session: Connection): Promise<DatabaseSchema> {
  const [current] = await session.query<{ name: string | null }[]>('SELECT DATABASE() AS name')
  if (!current?.name) throw new Error('The session has no current database to compare the schema with')
  const columns = await session.query<ColumnRow[]>(
    `SELECT c.TABLE_NAME AS tableName, c.COLUMN_NAME AS columnName, c.COLUMN_TYPE AS columnType, c.IS_NULLABLE AS isNullable
     FROM information_schema.COLUMNS c
     JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
     WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
     ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`,
  )
  const indexes = await session.query<IndexRow[]>(
    `SELECT TABLE_NAME AS tableName, INDEX_NAME AS name, COLUMN_NAME AS columnName,
       NON_UNIQUE AS nonUnique, INDEX_TYPE AS indexType
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE()
     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  )
  const foreignKeys = await session.query<ColumnListRow[]>(
    `SELECT TABLE_NAME AS tableName, CONSTRAINT_NAME AS name, COLUMN_NAME AS columnName
     FROM information_schema.KEY_COLUMN_USAGE
     WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
     ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
  )
  return {
    tables: groupColumnsByTable(columns),
    indexes: groupColumnLists(indexes).map(({ row, list }) => ({
      ...list,
      unique: Number(row.nonUnique) === 0,
      fulltext: row.indexType === 'FULLTEXT',
    })),
    foreignKeys: groupColumnLists(foreignKeys).map(({ list }) => list),
  }
}

function groupColumnsByTable(rows: ColumnRow[]): DatabaseSchema['tables'] {
  const tables: DatabaseSchema['tables'] = new Map()
  for (const row of rows) {
    const columns = tables.get(row.tableName) ?? new Map<string, DatabaseColumn>()
    columns.set(row.columnName, { type: normalizeColumnType(row.columnType), nullable: row.isNullable === 'YES' })
    tables.set(row.tableName, columns)
  }
  return tables
}

/** Folds one-row-per-column results into one list per (table, name), keeping its first row. */
function groupColumnLists<Row extends ColumnListRow>(rows: Row[]): { row: Row; list: ColumnList }[] {
  const groups = new Map<string, { row: Row; list: ColumnList }>()
  for (const row of rows) {
    const key = JSON.stringify([row.tableName, row.name])
    const group = groups.get(key) ?? { row, list: { table: row.tableName, name: row.name, columns: [] } }
    group.list.columns.push(row.columnName)
    groups.set(key, group)
  }
  return [...groups.values()]
}
