/**
 * Every error code lvsform reports, with what it means. The catalogue in docs/errors.md is this table (a unit test
 * holds the two equal); scripts may rely on the codes, which never change meaning.
 */
export const ERROR_CODES = {
  // The app, its synthesis and the project
  LVS_VALIDATION: 'A construct was given a value lvsform refuses; the message names the construct path and the value.',
  LVS_SYNTH_FAILED: 'The app did not synthesize (it threw, or exited with an error).',
  LVS_SYNTH_INVALID: 'The synthesized cdk.tf.json is not what this lvsform reads (edited by hand, or of another version).',
  LVS_NOT_SYNTHESIZED: 'There is no synthesized output to read (run without --no-synth, or run `lvsform synth`).',
  LVS_PROJECT_CONFIG: 'cdktf.json is missing or does not say how to run the app.',
  LVS_SYNTH_OUTPUT:
    "cdktf.json's output names a place synth will not replace: the project, a parent of it, the home directory, a file, or a directory holding files no synth wrote.",
  LVS_NO_STACK: 'The app has no stack of that name, or several stacks and none was chosen with --stack.',
  LVS_NO_DIRECTOR: 'The stack has no director of that name (--director).',
  LVS_TARGET_UNKNOWN: 'A --target construct path names no service or director of the stack.',
  LVS_USAGE:
    'The command line is not valid: an unknown command or option (with the nearest known name), a value out of range or not among the choices, a missing value or argument, a bad name. The hint names `lvsform <command> --help`; exit 1.',
  LVS_INIT_EXISTS: '`lvsform init` would overwrite files that already exist, or its directory is a file.',
  LVS_NO_WORKING_DIR: 'The directory lvsform was started in no longer exists (deleted or moved); nothing was read or written.',
  LVS_OUTPUT_WRITE: 'Standard output or standard error could not be written (a full disk, a device error); the command stopped.',
  // Reaching a director
  LVS_NO_TRANSPORT: 'A director has neither an SSH host (or alias) nor `local: true`.',
  LVS_UNSAFE_VALUE: 'A value meant for a shell or a file name (host, user, path, stack name) is not safe to use.',
  LVS_HOST_UNREACHABLE: 'The director could not be reached over SSH (name not resolved, connection refused or timed out, no route).',
  LVS_SSH_AUTH: 'sshd on the director refused the login (no key it accepts for that user).',
  LVS_SSH_CONFIG: 'ssh could not use its configuration (the config file is missing or has errors).',
  LVS_SSH_MISSING: 'There is no `ssh` command on this machine (OpenSSH client not installed or not on PATH).',
  LVS_HOST_KEY: "The director's SSH host key is not trusted (unknown or changed).",
  LVS_CONNECTION_LOST: 'The connection to the director ended in the middle of a step.',
  LVS_SUDO_REQUIRED: 'sudo would not run the host script as root without a password; nothing ran.',
  LVS_NOT_ROOT: 'The login is not root and cannot write /var/lib/lvsform; nothing was changed.',
  LVS_READ_ONLY:
    'A read-only run (`--read-only`, the plan key) was asked to change a director, or to read a real server (it has no read script); refused before any host was contacted.',
  LVS_HOST_OUTPUT: 'The director printed something lvsform did not expect (a step ended early, or forged markers).',
  // The director's own state
  LVS_LOCKED: "Another run holds the director's (or real server's) lock.",
  LVS_LOCK_HELD: '`force-unlock` found the lock held by a live run (it frees only locks whose holder is gone).',
  LVS_NO_FLOCK: 'The director has no `flock` command (util-linux): lvsform never changes a director without its lock.',
  LVS_NO_IPVSADM: 'ipvsadm is not installed on the director.',
  LVS_IPVS_UNAVAILABLE: '`ipvsadm` failed on the director: the kernel lacks IPVS, or the ip_vs module does not load.',
  LVS_CAPABILITY_MISSING: 'The director cannot do what the app asks (a scheduler, a tunnel type, a flag its kernel or ipvsadm lacks).',
  LVS_RECORD_CORRUPT: "The stack's ownership record on the director is not valid (not JSON, malformed, another stack's).",
  LVS_RECORD_NEWER: 'The ownership record was written by a newer lvsform.',
  LVS_RECORD_WRITE: 'The ownership record could not be written.',
  LVS_PARSE_SAVE: 'A table (`ipvsadm -S -n`, an ipvsadm-save file) has a line lvsform cannot read.',
  LVS_PARSE_LIST: '`ipvsadm -L -n` output (thresholds, counters) has a line lvsform cannot read.',
  LVS_PARSE_PROC: '/proc/net/ip_vs has a line lvsform cannot read.',
  // Plans and applies
  LVS_PLAN_MISSING: 'The saved plan file does not exist.',
  LVS_PLAN_CORRUPT: 'The saved plan file is not a valid plan.',
  LVS_PLAN_FORMAT: 'The saved plan file has a format this lvsform does not read.',
  LVS_PLAN_MISMATCH:
    'The saved plan is for another stack or other directors than the ones asked for (or --director would carry out part of a plan that prepares real servers).',
  LVS_PLAN_INCONSISTENT: "The saved plan's batch is not what its changes render (edited and signed again).",
  LVS_PLAN_OUT: 'The plan file cannot be written where --out says.',
  LVS_STALE_PLAN: "The director's table (or what a real server holds) changed since the plan was made; nothing was changed.",
  LVS_NOT_OWNED: 'Declared services already exist on the director but the stack does not own them (see --adopt).',
  LVS_STATE_UNKNOWN: '`state show` or `state rm` was given an address that names no service the stack owns (the message says the nearest).',
  LVS_STATE_AMBIGUOUS: 'A `state` address names owned services on several directors; add the director (lb1:tcp/198.51.100.10:80).',
  LVS_OWNED_BY_OTHER_STACK:
    'Declared services, or sysctls or timeouts the Director sets, are owned by another stack on the director; --adopt never takes them.',
  LVS_TOO_MANY_DELETES: 'The plan deletes more than --max-deletes allows; nothing was changed.',
  LVS_NEEDS_APPROVAL: 'The change needs confirmation and there is no terminal to ask on (pass --auto-approve).',
  LVS_VERIFY_FAILED: 'After the batch, the table read back still differs from the desired state (the kernel refused a line).',
  LVS_APPLY_FAILED: 'At least one director failed during an apply or destroy.',
  LVS_SETUP_FAILED: 'A step of the host set-up failed on the director.',
  LVS_SETUP_UNSUPPORTED: 'The host set-up asked for is not possible on this distribution.',
  LVS_DIRECTOR_SETTING:
    'A director setting the app asks for cannot be applied on this director (the VIP interface is missing, the kernel lacks the sysctl); nothing was changed.',
  LVS_SETTINGS_FAILED: 'A director setting (an address, a dummy interface, a sysctl, the timeouts) did not hold when read back after the apply.',
  LVS_REAL_SERVER_FAILED:
    "A real server's preparation (a VIP on lo, a tunnel device, a fou port, a sysctl, the default route) did not hold when read back after the apply.",
  // Import
  LVS_IMPORT_READ: 'The file or director to import from could not be read.',
  LVS_IMPORT_UNSUPPORTED: 'The table holds services lvsform cannot declare (each is named).',
  LVS_IMPORT_EMPTY: 'The file to import holds no service (nor a VRRP instance to make a pair of); what was skipped is listed.',
  LVS_IMPORT_WRITE: 'The generated app could not be written.',
  LVS_PARSE_KEEPALIVED: 'A keepalived configuration has something lvsform cannot read as keepalived would.',
  // The lab (a tool of the clone)
  LVS_LAB_UNAVAILABLE: 'The lab cannot be loaded (it runs only from a clone of the repository).',
  LVS_LAB_UNSUPPORTED: 'This machine cannot run the lab.',
  LVS_LAB_NOT_ROOT: 'The lab needs root (tap devices, network namespaces).',
  LVS_LAB_MISSING_PACKAGES: 'Packages the lab needs are not installed (the message lists them).',
  LVS_LAB_NO_TUN: '/dev/net/tun is missing: no tap devices can be made.',
  LVS_LAB_NO_KERNEL: 'The Debian kernel the lab boots could not be found or fetched.',
  LVS_LAB_ADDRESS_IN_USE: 'An address the lab would use is already in use on this machine.',
  LVS_LAB_TAP_IN_USE: 'A network device (tap, bridge, namespace) the lab would use already exists.',
  LVS_LAB_NETWORK_FAILED: "A cluster lab's bridges, taps or client namespace could not be made on this machine.",
  LVS_LAB_NOT_CLUSTER: 'The lab in that directory is not a cluster lab (`lab up --cluster`).',
  LVS_LAB_BAD_OPTIONS: 'A lab option is not valid.',
  LVS_LAB_BAD_TARGET: 'A `lab traffic` target is not valid.',
  LVS_LAB_RUNNING: 'A lab is already running in that directory.',
  LVS_LAB_NOT_RUNNING: 'No lab is running in that directory.',
  LVS_LAB_NO_DIRECTOR: 'The lab has no virtual machine (director, or real server of a cluster lab) of that name or number.',
  LVS_LAB_BOOT_FAILED: 'A lab director did not boot.',
  LVS_LAB_BOOT_TIMEOUT: 'A lab director did not finish booting in time.',
  LVS_LAB_SSH_FAILED: 'The SSH connection to a lab director could not be made.',
  LVS_LAB_EXEC_TIMEOUT: 'A command on a lab director did not finish in time.',
  LVS_LAB_INTERRUPTED: '`lab up` was interrupted; what it had started was taken down.',
  // Anything else
  LVS_INTERNAL: 'An error lvsform did not expect: a bug, please report it with the output of --debug.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
