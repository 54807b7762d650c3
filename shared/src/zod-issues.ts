// zod issues as the `{ path, message }` pairs every per-field error in sluice takes (HTTP details,
// per-event verdicts, config errors), or as one line for headers and logs. Web APIs only.

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** `prefix` is prepended to every path; `root` names an issue about the whole value. */
export function fieldErrors(
  issues: readonly Issue[],
  root = '(root)',
  prefix: readonly string[] = [],
): FieldError[] {
  return issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.') || root,
    message: issue.message,
  }));
}

export function describeIssues(issues: readonly Issue[], root = '(root)'): string {
  return fieldErrors(issues, root)
    .map((e) => `${e.path}: ${e.message}`)
    .join('; ');
}
