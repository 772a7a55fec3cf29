/** What `tq board` serves and how (the CLI fills it from its options). */
export interface BoardOptions {
  /** Absolute runs root: the board reads only runs under it. */
  root: string;
  port: number;
  host: string;
  /** Required on any host but loopback (the CLI generates one); checked on every request when set. */
  token?: string;
  /** Approve, requeue and release from the page (POST only); read-only without it. */
  allowActions: boolean;
  /** dist/board/static, found next to the code when not given. */
  assetsDir?: string;
  /** How often the watched directory set is re-listed (new stages, workers, runs). */
  rescanMs?: number;
}
