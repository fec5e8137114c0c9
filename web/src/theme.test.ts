import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialTheme } from './theme.ts';

describe('initialTheme', () => {
  it('prefers the remembered choice, else follows the system', () => {
    assert.equal(initialTheme('light', true), 'light');
    assert.equal(initialTheme('dark', false), 'dark');
    assert.equal(initialTheme(null, true), 'dark');
    assert.equal(initialTheme(null, false), 'light');
    assert.equal(initialTheme('purple', true), 'dark', 'an unknown stored value is ignored');
  });
});
