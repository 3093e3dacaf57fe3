// The longest functions (lines) of the given TypeScript files, longest first:
//   node --import tsx scripts/function-sizes.ts $(find src/workflows -name '*.ts') [--top N]
import * as fs from 'node:fs';
import * as ts from 'typescript';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 10;
const sizes: Array<[number, string]> = [];
for (const file of args) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const p = n.parent;
      const name = (n as ts.FunctionDeclaration).name?.getText() ?? (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) ? p.name.getText() : '(anonymous)');
      sizes.push([last - first + 1, `${file}:${first + 1} ${name}`]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
sizes.sort((a, b) => b[0] - a[0]);
process.stdout.write(sizes.slice(0, top).map(([n, where]) => `${n} ${where}`).join('\n') + '\n');
