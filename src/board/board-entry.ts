/**
 * What the CLI loads for `tq board`, in one module. Why: the CLI's bundle keeps it in a file of
 * its own (dist/bundle/board.cjs, see scripts/build-bundle.mjs), required only by `tq board`, so
 * the server and its views are never read by `tq claim` or `tq status`.
 */
export { startBoard, type Board, type BoardOptions } from './start-board.js';
export { newBoardToken } from './board-auth.js';
