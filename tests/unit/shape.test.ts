/**
 * The steps from one table shape to another, as pure builders: what is additive, what is
 * destructive (an opt-in), what is refused and why; and the grammar a CHECK expression is held to.
 */
import { strict as assert } from 'node:assert';
import { type TableShape, shapeSteps } from '../../components/providers/shape';
import { checkExpressionProblem } from '../../components/config/tables';

const base: TableShape = {
  columns: [
    { name: 'id', type: 'uuid', notNull: true, default: 'gen_random_uuid()' },
    { name: 'weight', type: 'numeric', notNull: false },
  ],
  indexes: [],
  checks: [],
};

function steps(to: Partial<TableShape>) {
  return shapeSteps('public', 'hippos', base, { ...base, ...to }).map((s) => [s.kind, s.describe, s.sql]);
}

describe('table shape steps', function () {
  it('adds a column with its default, additively', function () {
    assert.deepEqual(
      steps({ columns: [...base.columns, { name: 'herd', type: 'text', notNull: true, default: "'main'" }] }),
      [
        [
          'additive',
          "add column herd text DEFAULT 'main' NOT NULL",
          [`ALTER TABLE "public"."hippos" ADD COLUMN IF NOT EXISTS "herd" text DEFAULT 'main' NOT NULL`],
        ],
      ],
    );
  });

  it('refuses a NOT NULL column without a default, and a type change, saying what to do', function () {
    const [notNull] = shapeSteps('public', 'hippos', base, {
      ...base,
      columns: [...base.columns, { name: 'x', type: 'int', notNull: true }],
    });
    assert.equal(notNull?.kind, 'refused');
    assert.match(notNull?.reason ?? '', /give it a default, or add it nullable, fill it, then set notNull/);
    const [retyped] = shapeSteps('public', 'hippos', base, {
      ...base,
      columns: [base.columns[0] as never, { name: 'weight', type: 'text', notNull: false }],
    });
    assert.equal(retyped?.kind, 'refused');
    assert.match(
      retyped?.reason ?? '',
      /add a new column of type text, fill it on each owner, move the application to it, then remove weight/,
    );
  });

  it('marks a dropped column and a tighter constraint destructive, a looser one additive', function () {
    assert.deepEqual(
      steps({ columns: [base.columns[0] as never] }).map((s) => s.slice(0, 2)),
      [['destructive', 'drop column weight']],
    );
    assert.deepEqual(
      steps({ columns: [base.columns[0] as never, { name: 'weight', type: 'numeric', notNull: true }] }).map(
        (s) => s.slice(0, 2),
      ),
      [['destructive', 'forbid NULL in weight']],
    );
    assert.deepEqual(
      steps({ checks: [{ name: 'weight_positive', expression: 'weight > 0' }] }).map((s) => s[0]),
      ['destructive'],
    );
  });

  it('builds an index (concurrently, per partition) and compares indexes however their objects were written', function () {
    const index = { name: 'hippos_weight_idx', columns: ['weight'], unique: false };
    assert.deepEqual(
      steps({ indexes: [index] }).map((s) => s.slice(0, 2)),
      [['additive', 'create index hippos_weight_idx on (weight), concurrently on each partition']],
    );
    const written = { unique: false, columns: ['weight'], name: 'hippos_weight_idx' };
    assert.deepEqual(
      shapeSteps('public', 'hippos', { ...base, indexes: [written] }, { ...base, indexes: [index] }),
      [],
    );
  });

  it('holds check expressions to columns, constants and operators', function () {
    const columns = new Set(['weight', 'herd']);
    assert.equal(checkExpressionProblem("weight > 0 AND herd IN ('main', 'calves')", columns), undefined);
    assert.equal(checkExpressionProblem('length(herd) BETWEEN 1 AND 20', columns), undefined);
    assert.match(
      checkExpressionProblem('weight > 0); DROP TABLE hippos; --', columns) ?? '',
      /which a check here may not hold/,
    );
    assert.match(
      checkExpressionProblem('pg_sleep(10) IS NULL', columns) ?? '',
      /calls pg_sleep\(\), which is not among the functions/,
    );
    assert.match(
      checkExpressionProblem('secret > 0', columns) ?? '',
      /names secret, which is not one of the table's columns/,
    );
    assert.match(checkExpressionProblem('(weight > 0', columns) ?? '', /unbalanced parentheses/);
  });
});
