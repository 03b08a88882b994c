#!/usr/bin/env bash
# Packs StepWiser.ML into a local folder feed, creates a fresh console project outside the repository that references
# it from that feed (plus TorchSharp-cpu), builds and runs a small pipeline. Proves the package installs and works as
# documented, including the buildTransitive GLIBCXX step; then runs the file-based sample and every cell of the
# notebook against the same feed; packs the command line as a dotnet tool, installs it from the feed and runs it.
# A unique version suffix per run keeps NuGet's cache honest.
# --save-notebook-outputs: also write the notebook run's outputs into docs/notebooks/quickstart.ipynb (sources kept).
set -euo pipefail
save_outputs=()
case "${1:-}" in
  "") ;;
  --save-notebook-outputs) save_outputs=(--outputs-into "$(cd "$(dirname "$0")/.." && pwd)/docs/notebooks/quickstart.ipynb") ;;
  *) echo "usage: nuget/check-local-feed.sh [--save-notebook-outputs]" >&2; exit 2 ;;
esac
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/stepwiser-feed.XXXXXX)"
trap 'rm -rf "$work"' EXIT
suffix="ci.$(date +%s)"
dotnet pack "$repo/src/StepWiser.ML/StepWiser.ML.csproj" -c Release -o "$work/feed" --version-suffix "$suffix" -p:ContinuousIntegrationBuild=true > "$work/pack.log" 2>&1 || { cat "$work/pack.log"; exit 1; }
dotnet pack "$repo/src/StepWiser.ML.Worlds/StepWiser.ML.Worlds.csproj" -c Release -o "$work/feed" --version-suffix "$suffix" -p:ContinuousIntegrationBuild=true > "$work/pack-worlds.log" 2>&1 || { cat "$work/pack-worlds.log"; exit 1; }
nupkg="$(ls "$work/feed"/StepWiser.ML.[0-9]*.nupkg | grep -v snupkg | head -n 1)"
version="$(basename "$nupkg" .nupkg)"; version="${version#StepWiser.ML.}"
ls "$work/feed"/StepWiser.ML.Worlds."$version".nupkg > /dev/null
ls "$work/feed"/StepWiser.ML."$version".snupkg > /dev/null
python3 - "$nupkg" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["README.md", "buildTransitive/StepWiser.ML.targets", "lib/net10.0/StepWiser.ML.dll", "lib/net10.0/StepWiser.ML.xml"]
missing = [n for n in need if n not in names]
if missing: sys.exit(f"package lacks {missing}")
PY
mkdir -p "$work/consumer"
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cat > "$work/consumer/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="StepWiser.ML" Version="$version" />
    <PackageReference Include="StepWiser.ML.Worlds" Version="$version" />
    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
  </ItemGroup>
</Project>
XML
cat > "$work/consumer/Program.cs" <<'CS'
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

var ml = new MLContext();
var problems = new ArithmeticChainWorld().Generate("train", 20);
var data = ArithmeticChainWorld.ToDataView(ml, problems);
var chunked = ml.StepWiser().Transforms.ChunkSteps().Fit(data).Transform(data);
var counts = chunked.GetColumn<int>("ChunkCount").ToArray();
using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
var text = new LocalTextGenerator(model, BuiltInTokenizer.Create()).Generate([GenerationRequest.FromText(problems[0].Prompt, SamplingOptions.Greedy(8))])[0].Samples[0].Text;
Console.WriteLine($"consumer ok: {counts.Length} problems, {counts.Sum()} chunks, generated {text.Length} chars");
CS
cd "$work/consumer"
dotnet run -c Release > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
grep "consumer ok" "$work/run.log"

# The file-based sample, against the same local feed (its #:package version pinned to this build).
mkdir -p "$work/filebased"
sed -e "s/#:package StepWiser.ML@.*/#:package StepWiser.ML@$version/" -e "s/#:package StepWiser.ML.Worlds@.*/#:package StepWiser.ML.Worlds@$version/" "$repo/src/StepWiser.ML.Samples/FileBased/quickstart.cs" > "$work/filebased/quickstart.cs"
cp "$work/consumer/nuget.config" "$work/filebased/nuget.config"
cd "$work/filebased"
dotnet run quickstart.cs > "$work/filebased.log" 2>&1 || { cat "$work/filebased.log"; exit 1; }
grep -q "Abs-Q labels" "$work/filebased.log" || { cat "$work/filebased.log"; exit 1; }
echo "file-based sample ran: $(grep -c 'Abs-Q labels' "$work/filebased.log") annotated solutions"

# The notebook (docs/notebooks/quickstart.ipynb), every code cell run headlessly in an in-process .NET Interactive C#
# kernel, against the same feed (its #i folder and StepWiser.ML version pointed at this build).
dotnet build "$repo/tests/StepWiser.ML.NotebookRunner/StepWiser.ML.NotebookRunner.csproj" -c Release > "$work/runner-build.log" 2>&1 || { cat "$work/runner-build.log"; exit 1; }
mkdir -p "$work/notebook"
python3 - "$repo/docs/notebooks/quickstart.ipynb" "$work/notebook/quickstart.ipynb" "$work/feed" "$version" <<'PY'
import json, sys
source, target, feed, version = sys.argv[1:]
nb = json.load(open(source))
replaced = 0
for cell in nb["cells"]:
    text = "".join(cell["source"])
    new = text.replace('#i "nuget:/tmp/stepwiser-feed"', f'#i "nuget:{feed}"').replace('#r "nuget:StepWiser.ML, *-*"', f'#r "nuget:StepWiser.ML, {version}"').replace('#r "nuget:StepWiser.ML.Worlds, *-*"', f'#r "nuget:StepWiser.ML.Worlds, {version}"')
    replaced += new != text
    cell["source"] = new.splitlines(True)
if replaced != 1: sys.exit("the notebook's package cell (#i /tmp/stepwiser-feed, #r StepWiser.ML *-*) was not found")
json.dump(nb, open(target, "w"), indent=1)
PY
dotnet "$repo/tests/StepWiser.ML.NotebookRunner/bin/Release/net10.0/StepWiser.ML.NotebookRunner.dll" "$work/notebook/quickstart.ipynb" "${save_outputs[@]}" > "$work/notebook.log" 2>&1 || { cat "$work/notebook.log"; exit 1; }
grep "notebook ok" "$work/notebook.log"
# The command line as a dotnet tool: packed for linux-x64 (its own build folder, so the repository's stays as it is),
# installed from the same feed into a fresh tool path, and run: --help, and the demo (which loads libtorch from the tool).
dotnet pack "$repo/src/StepWiser.ML.Samples/StepWiser.ML.Samples.csproj" -c Release -o "$work/feed" --version-suffix "$suffix" -p:RuntimeIdentifier=linux-x64 -p:TorchBackend=cpu \
  --artifacts-path "$work/tool-build" > "$work/tool-pack.log" 2>&1 || { cat "$work/tool-pack.log"; exit 1; }
dotnet tool install --tool-path "$work/tool" --add-source "$work/feed" StepWiser.ML.Cli --version "$version" > "$work/tool-install.log" 2>&1 || { cat "$work/tool-install.log"; exit 1; }
"$work/tool/stepwiser" --help > "$work/tool-help.log" 2>&1 || { cat "$work/tool-help.log"; exit 1; }
grep -q "train-judge" "$work/tool-help.log" || { echo "the installed tool's --help lacks train-judge"; cat "$work/tool-help.log"; exit 1; }
(cd "$work" && "$work/tool/stepwiser" demo > "$work/tool-demo.log" 2>&1) || { cat "$work/tool-demo.log"; exit 1; }
echo "dotnet tool installed from the local feed and ran: StepWiser.ML.Cli $version ($(du -m "$work/feed"/StepWiser.ML.Cli.*.nupkg | cut -f1) MB)"
echo "local feed check passed: StepWiser.ML $version"
