// The console's shell: header, navigation and the hash routes.
export default function App() {
  return <main><h1>Fust</h1></main>;
}
