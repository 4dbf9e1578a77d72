/**
 * A leading `~` in path arguments, expanded as a shell would where the shell does not:
 * `--data idx:~/mnist` (after a dataset kind), `--out=~/runs/a` (after `=`), and a quoted
 * `'~/runs/a'`. Only `~` alone or `~/...` is expanded (not `~user`).
 */
import { homedir } from 'node:os';

const HOME_PATH = /^~(?=\/|$)/;

/** `path` with a leading `~` or `~/` replaced by the home folder. */
export function expandHome(path: string, home: string = homedir()): string {
  return path.replace(HOME_PATH, home);
}

/** Every argument with a leading `~` expanded, also after `--flag=` and after `kind:`. */
export function expandHomeInArgs(argv: readonly string[], home: string = homedir()): string[] {
  return argv.map((arg) => {
    const flag = /^(--[\w-]+=)(.*)$/.exec(arg);
    if (flag) return flag[1] + expandHomeInArgs([flag[2]], home)[0];
    const spec = /^([a-z][a-z0-9]*:)(~.*)$/.exec(arg);
    if (spec) return spec[1] + expandHome(spec[2], home);
    return expandHome(arg, home);
  });
}
