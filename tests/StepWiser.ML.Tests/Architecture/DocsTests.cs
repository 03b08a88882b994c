using System.Text.RegularExpressions;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Architecture;

/// <summary>
/// docs/ is for users: it never speaks of development sessions, issue numbers or scratch paths (those belong in the lab
/// notebook, lab/), and every command it shows is one the command line accepts.
/// </summary>
[TestClass]
public sealed partial class DocsTests
{
    private static IEnumerable<string> UserDocs() =>
        Directory.EnumerateFiles(Repository.PathOf("docs"), "*.md", SearchOption.AllDirectories).Append(Repository.PathOf("README.md"));

    [TestMethod]
    public void UserDocsMentionNoSessionIssueNumberOrScratchPath()
    {
        var found = new List<string>();
        foreach (var file in UserDocs())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
                foreach (Match m in LabWords().Matches(lines[i]))
                    found.Add($"{Path.GetRelativePath(Repository.PathOf(), file)}:{i + 1}: \"{m.Value}\"");
        }
        Assert.IsEmpty(found, "move these to lab/:\n" + string.Join("\n", found));
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void EveryCommandTheDocsShowIsOneTheCommandLineAccepts()
    {
        var helps = new Dictionary<string, string>(StringComparer.Ordinal);
        string Help(string command)
        {
            if (helps.TryGetValue(command, out var text)) return text;
            var (code, stdout, stderr) = SamplesApp.Run(command.Length == 0 ? ["--help"] : [command, "--help"], TimeSpan.FromSeconds(60));
            Assert.AreEqual(0, code, $"`{command} --help` failed: {stderr}");
            return helps[command] = stdout;
        }
        var checkedCommands = 0;
        var problems = new List<string>();
        foreach (var file in UserDocs())
        {
            var text = File.ReadAllText(file).Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (Match m in SamplesCommand().Matches(text))
            {
                var words = m.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var command = words.Length > 0 && !words[0].StartsWith('-') && !words[0].StartsWith('<') ? words[0] : "";
                var help = Help(command);
                if (command.Length > 0 && !Help("").Contains(command, StringComparison.Ordinal))
                    problems.Add($"{Path.GetFileName(file)}: unknown command '{command}'");
                foreach (var option in words.Where(w => w.StartsWith("--", StringComparison.Ordinal)).Select(w => w.Split('=')[0]))
                    if (!help.Contains(option, StringComparison.Ordinal)) problems.Add($"{Path.GetFileName(file)}: '{command}' has no option {option}");
                checkedCommands++;
            }
        }
        Assert.IsGreaterThan(5, checkedCommands, "the docs show commands of the samples app");
        Assert.IsEmpty(problems, string.Join("\n", problems));
    }

    [TestMethod]
    public void TheReadmesResultsTableIsTheOneThePublishedRunWrote()
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        const string Start = "<!-- summary: docs/results/summary.md, written by the main job; a test keeps this copy equal to it -->\n";
        const string End = "<!-- end summary -->";
        var from = readme.IndexOf(Start, StringComparison.Ordinal);
        var to = readme.IndexOf(End, StringComparison.Ordinal);
        Assert.IsTrue(from >= 0 && to > from, "README.md holds the summary between its markers");
        Assert.AreEqual(File.ReadAllText(Repository.PathOf("docs", "results", "summary.md")), readme[(from + Start.Length)..to]);
    }

    /// <summary>Words of the lab notebook: a development session, an issue number, a scratch path.</summary>
    [GeneratedRegex(@"\b[Ss]essions?\b|/tmp/|\b[Ii]ssue\s+#?\d+|\bissues?\s+\d+")]
    private static partial Regex LabWords();

    /// <summary>A command of the samples app as the docs show it: <c>dotnet run --project src/StepWiser.ML.Samples … -- command --options</c>, to the end of the line or a comment.</summary>
    [GeneratedRegex(@"dotnet run --project src/StepWiser\.ML\.Samples[^\n#`]*? -- (?<args>[^\n#`]*)")]
    private static partial Regex SamplesCommand();
}
