import type { CommandSpec } from '../command.js';

/** Commands that live outside the core queue (daemon, demo), registered here. */
export const extraCommands: CommandSpec[] = [];
