// App entry: registers the components. Errors anywhere surface in the page, never only in the console.
import './app.ts';
