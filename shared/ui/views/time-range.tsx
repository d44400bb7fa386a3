/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** The `from` / `to` fields (UTC) of a filter form: the task search's and the dead letters'. */
import { timeInputValue } from '../format.js';

/**
 * Two `datetime-local` inputs named `from` and `to`, labelled `<what> from (UTC)` and `to (UTC)`,
 * with test ids `<testIdPrefix>-from` and `<testIdPrefix>-to`.
 */
export function TimeRangeFields(props: {
  what: string;
  from: number | undefined;
  to: number | undefined;
  testIdPrefix: string;
}) {
  return (
    <>
      <label>
        {props.what} from (UTC)
        <input
          type="datetime-local"
          name="from"
          value={timeInputValue(props.from)}
          data-testid={`${props.testIdPrefix}-from`}
        />
      </label>
      <label>
        to (UTC)
        <input
          type="datetime-local"
          name="to"
          value={timeInputValue(props.to)}
          data-testid={`${props.testIdPrefix}-to`}
        />
      </label>
    </>
  );
}
