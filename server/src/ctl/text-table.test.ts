import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dash, formatUptime, renderFields, renderTable } from './text-table';

test('renderTable aligns columns two spaces apart and leaves no trailing blanks', () => {
  const text = renderTable(
    ['A', 'LONGER', 'C'],
    [
      ['xxxx', 'y', ''],
      ['z', 'wwwwwwww', 'end'],
    ],
  );
  assert.equal(text, 'A     LONGER    C\nxxxx  y\nz     wwwwwwww  end\n');
});

test('renderFields aligns the keys', () => {
  assert.equal(
    renderFields([
      ['a', '1'],
      ['long key', '2'],
    ]),
    'a         1\nlong key  2\n',
  );
});

test('formatUptime picks the two largest units', () => {
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(59.9), '59s');
  assert.equal(formatUptime(65), '1m05s');
  assert.equal(formatUptime(3 * 3600 + 7 * 60 + 1), '3h07m');
  assert.equal(formatUptime(2 * 86400 + 4 * 3600 + 5 * 60), '2d 04h05m');
});

test('dash shows empty values as -', () => {
  assert.equal(dash(''), '-');
  assert.equal(dash(undefined), '-');
  assert.equal(dash('x'), 'x');
});
