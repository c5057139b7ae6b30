using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads the plugin switch <c>&lt;sersync&gt;&lt;plugin&gt;</c> (no plugin may be started) and the top-level
/// <c>&lt;plugin name="..."&gt;</c> sections, kept as flat key/value settings.</summary>
internal sealed class PluginSectionReader(ConfigErrors errors, ConfigAttributeReader values, FilterExpressionCompiler patterns)
{
    public PluginSwitch ReadSwitch(XElement? plugin)
    {
        if (plugin == null)
        {
            return new PluginSwitch(false, "command");
        }

        var nameAttr = plugin.Attribute("name");
        var name = nameAttr?.Value ?? "command";
        if (Array.IndexOf(ConfigSchema.PluginNames, name) < 0)
        {
            throw errors.Fail((XObject?)nameAttr ?? plugin, $"unknown plugin name {ConfigText.Quote(name)}; expected one of {string.Join(", ", ConfigSchema.PluginNames)}");
        }

        var enabled = values.Bool(plugin, "start", false);
        if (enabled)
        {
            throw errors.Fail(plugin, $"plugin '{name}' is not supported by this version of sersyncd; set start=\"false\"");
        }

        return new PluginSwitch(enabled, name);
    }

    public Dictionary<string, PluginSection> ReadSections(XElement root)
    {
        var sections = new Dictionary<string, PluginSection>(StringComparer.Ordinal);
        foreach (var plugin in root.Elements("plugin"))
        {
            var name = plugin.Attribute("name")!.Value; // ConfigShapeChecker made sure it exists and is known
            if (sections.TryGetValue(name, out var first))
            {
                throw errors.Fail(plugin, $"duplicate <plugin name=\"{name}\"> (the first is at line {first.Line}); only one section per plugin is allowed");
            }

            var settings = new List<KeyValuePair<string, string>>();
            CollectSettings(plugin, "", settings);
            sections[name] = new PluginSection(name, settings, ConfigSourcePositions.LineOf(plugin));
        }

        return sections;
    }

    // Plugin paths are kept as written: the plugins do not run yet, and the stock file names paths that rarely exist.
    private void CollectSettings(XElement element, string prefix, List<KeyValuePair<string, string>> settings)
    {
        foreach (var child in element.Elements())
        {
            var path = prefix.Length == 0 ? child.Name.LocalName : $"{prefix}/{child.Name.LocalName}";
            foreach (var attr in child.Attributes())
            {
                var key = $"{path}@{attr.Name.LocalName}";
                switch (key)
                {
                    case "param@ignoreError" or "filter@start" or "localpath/regexurl@regex":
                        _ = values.Bool(child, attr.Name.LocalName, false);
                        break;
                    case "localpath/deshost@port" or "localpath/cdninfo@port":
                        _ = values.Int(child, attr.Name.LocalName, 0, 1, 65535);
                        break;
                    case "filter/include@expression":
                        _ = patterns.Compile(attr);
                        break;
                }

                settings.Add(new(key, attr.Value));
            }

            CollectSettings(child, path, settings);
        }
    }
}
