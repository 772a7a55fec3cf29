import type { CommandSpec } from '../command.js';
import { observeCommands } from './observe-commands.js';
import { demoCommand } from './demo-command.js';
import { daemonCommand } from './daemon-command.js';

/** Commands that live outside the core queue (daemon, demo), registered here. */
export const extraCommands: CommandSpec[] = [demoCommand, daemonCommand, ...observeCommands];
