/// The report's inline style sheet and script (no network request: no fonts, no libraries).
enum ReportAssets {
    static let css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222;background:#fff}
        h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:0 0 6px}
        h4{margin:0 0 4px;font-size:13px;color:#555}
        table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
        table.runs td{word-break:break-all}pre{margin:0;font-size:12px;white-space:pre-wrap}
        .note{color:#666;font-size:13px}.verdict.worse{color:#b00020;font-weight:bold}.verdict.better{color:#046b2d;font-weight:bold}
        .histograms{display:flex;flex-wrap:wrap;gap:12px}.histogram{margin:0;width:250px}
        .histogram svg{width:100%}.histogram .a{fill:#4a78b5}.histogram .b{fill:none;stroke:#d9822b;stroke-width:1.5}
        .histogram text{font-size:10px;fill:#444}
        article.image{border:1px solid #ccc;border-radius:6px;padding:10px;margin:12px 0}
        .sides{display:flex;flex-wrap:wrap;gap:16px}.side{flex:1 1 340px;min-width:280px}
        .word{font:inherit;border:1px solid transparent;background:none;padding:0 2px;margin:0;cursor:pointer;border-radius:3px}
        .word:hover,.word:focus,.word.selected{border-color:#4a78b5;background:#e6eefa;outline:none}
        .caption{font-size:16px;margin:4px 0}.looked{min-height:1.4em;margin:2px 0 6px;color:#333}
        svg.defs{position:absolute;width:0;height:0}
        svg.boxes{width:100%;max-width:420px;background:#f4f4f4;display:block}
        svg.boxes .frame{fill:#fafafa;stroke:#999}
        svg.boxes .box{fill:#e03c31;stroke:#555;stroke-width:1;vector-effect:non-scaling-stroke}
        svg.boxes g.top .box{stroke:#e03c31;stroke-width:3}
        svg.boxes text{fill:#111;paint-order:stroke;stroke:#fff;stroke-width:3px;visibility:hidden}
        svg.boxes g.shown text,svg.boxes g.top text{visibility:visible}
        .bars .bar{display:flex;align-items:center;gap:6px;font-size:12px}.bars .name{width:150px}
        .bars .track{flex:1;height:10px;background:#eee;position:relative}
        .bars .fill{position:absolute;left:0;top:0;bottom:0;background:#e03c31;width:0}.bars .value{width:44px}
        .bars .bar.top .name{font-weight:bold}
        .references ol{margin:4px 0;padding-left:22px}.image-metrics{font-size:12px}
        .looked-all{font-size:12px;color:#555}
        #js-errors{color:#b00020;border:2px solid #b00020;padding:6px 24px}footer{margin:30px 0;color:#888;font-size:12px}
        """

    /// Wires each caption's words to its drawing. Errors are written into the page (the list
    /// `#js-errors`, and `data-js="error"` on the root element); success sets `data-js="ok"`.
    static let script = """
        (function () {
          var root = document.documentElement;
          var errors = document.getElementById('js-errors');
          function fail(message) {
            var item = document.createElement('li');
            item.textContent = 'script error: ' + message;
            errors.appendChild(item);
            errors.hidden = false;
            root.setAttribute('data-js', 'error');
          }
          window.addEventListener('error', function (event) { fail(event.message + ' (line ' + event.lineno + ')'); });
          try {
            var data = JSON.parse(document.getElementById('attention-data').textContent);
            var sides = document.querySelectorAll('.side[data-key]');
            for (var i = 0; i < sides.length; i++) { wire(sides[i], data[sides[i].getAttribute('data-key')] || []); }
            if (root.getAttribute('data-js') !== 'error') { root.setAttribute('data-js', 'ok'); }
          } catch (error) {
            fail(String(error && error.stack || error));
          }

          function wire(side, weights) {
            var words = side.querySelectorAll('.word');
            var regions = side.querySelectorAll('[data-r]');
            var looked = side.querySelector('.looked');
            function select(position) {
              var w = weights[position] || [];
              var peak = 0;
              for (var k = 0; k < w.length; k++) { if (w[k] > peak) { peak = w[k]; } }
              for (var j = 0; j < words.length; j++) {
                words[j].classList.toggle('selected', Number(words[j].getAttribute('data-p')) === position);
              }
              var word = words[position];
              for (var r = 0; r < regions.length; r++) {
                var element = regions[r];
                var index = Number(element.getAttribute('data-r'));
                var weight = (w[index] || 0) / 1000;
                var share = peak > 0 ? (w[index] || 0) / peak : 0;
                var isTop = word && word.getAttribute('data-top') && share === 1;
                element.classList.toggle('top', !!isTop);
                element.classList.toggle('shown', share >= 0.1);
                var rect = element.querySelector('rect');
                if (rect) { rect.setAttribute('fill-opacity', (0.5 * share).toFixed(3)); }
                var fill = element.querySelector('.fill');
                if (fill) { fill.style.width = (100 * weight).toFixed(1) + '%'; }
                var value = element.querySelector('.value');
                if (value) { value.textContent = weight.toFixed(3); }
              }
              if (word && looked) {
                looked.textContent = word.getAttribute('data-top')
                  ? '\\u201c' + word.textContent + '\\u201d looked most at ' + word.getAttribute('data-top')
                    + ', weight ' + word.getAttribute('data-tw')
                  : '\\u201c' + word.textContent + '\\u201d has no attention stored';
              }
            }
            for (var j = 0; j < words.length; j++) {
              (function (position) {
                var handler = function () { select(position); };
                words[j].addEventListener('mouseenter', handler);
                words[j].addEventListener('focus', handler);
                words[j].addEventListener('click', handler);
              })(Number(words[j].getAttribute('data-p')));
            }
            if (words.length > 0) { select(Number(words[0].getAttribute('data-p'))); }
          }
        })();
        """
}
