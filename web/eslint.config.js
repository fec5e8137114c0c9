// The dashboard's lint settings: the project's rules, plus browser globals for the page's code, and
// without the build output (web/dist is generated and minified). ESLint finds this file for everything
// under web/, from the repository root too.
import globals from 'globals';
import root from '../eslint.config.js';

export default [
  { ignores: ['dist/'] },
  ...root,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Tests and the build test run under Node and may print.
    files: ['src/**/*.test.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
];
