/**
 * Ajv (draft 2020-12) and ajv-formats, in one module that json-schema-compiler loads by import()
 * only when data is checked. Why a module of its own: the CLI bundle keeps it in a file of its
 * own (dist/bundle/ajv-modules.cjs, see scripts/build-bundle.mjs), so the ~150 KB of Ajv are not
 * read, hashed and held by every `tq claim` and `tq status`.
 */
import formats from 'ajv-formats';

export { Ajv2020 } from 'ajv/dist/2020.js';
// Why `.default`: ajv-formats is CommonJS; its function is module.exports and module.exports.default.
export const addFormats = formats.default;
