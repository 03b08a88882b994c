using System.Diagnostics;
using System.Text.Json.Nodes;

namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>
/// Renders conversations with a <c>tokenizer_config.json</c>'s own Jinja chat template through Python's Jinja2, the way
/// Hugging Face transformers' apply_chat_template does (Tokenization/Oracle/render_chat_template.py). Inconclusive where
/// python3 or its jinja2 is not installed.
/// </summary>
internal static class JinjaOracle
{
    /// <summary>The oracle's folder beside the test binaries (the script and the golden file).</summary>
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "Tokenization", "Oracle");

    /// <summary>The cases (<c>messages</c>, <c>add_generation_prompt</c>, <c>enable_thinking</c>, <c>continue_final_message</c>) with <c>rendered</c> added.</summary>
    public static JsonArray Render(JsonArray cases, string configPath)
    {
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { Path.Combine(Directory, "render_chat_template.py"), configPath },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception) { throw new AssertInconclusiveException("python3 is not installed; the golden-file test still runs."); }
        using (process)
        {
            process.StandardInput.Write(cases.ToJsonString());
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 && stderr.Contains("No module named 'jinja2'", StringComparison.Ordinal))
                throw new AssertInconclusiveException("Python's jinja2 is not installed; the golden-file test still runs.");
            Assert.AreEqual(0, process.ExitCode, stderr);
            return JsonNode.Parse(stdout.Result)!.AsArray();
        }
    }
}
