"use strict";(self.rspackChunkconductor_nb=self.rspackChunkconductor_nb||[]).push([[232],{475(r,o,n){var e=n(601),t=n.n(e),a=n(314),c=(n.n(a))()(t());c.push([r.id,`.conductor-nb-sidebar {
  overflow-y: auto;
  padding: 8px 12px;
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1);
}

.conductor-nb-sidebar h2 {
  font-size: var(--jp-ui-font-size3);
  margin: 4px 0 8px;
}

.conductor-nb-sidebar h3 {
  font-size: var(--jp-ui-font-size2);
  margin: 12px 0 6px;
}

.conductor-nb-sidebar h4 {
  margin: 8px 0 4px;
}

.conductor-nb-error {
  color: var(--jp-error-color1);
  margin-bottom: 6px;
}

.conductor-nb-message {
  color: var(--jp-ui-font-color2);
  margin-bottom: 6px;
}

.conductor-nb-active-name,
.conductor-nb-row-name {
  font-weight: 600;
  overflow-wrap: anywhere;
}

.conductor-nb-meta,
.conductor-nb-summary,
.conductor-nb-empty {
  color: var(--jp-ui-font-color2);
}

.conductor-nb-progress {
  height: 6px;
  margin: 4px 0;
  border-radius: 3px;
  background: var(--jp-layout-color3);
}

.conductor-nb-progress-fill {
  height: 100%;
  border-radius: 3px;
  background: var(--jp-brand-color1);
}

.conductor-nb-verbs {
  display: flex;
  flex-wrap: wrap;
  gap: 4px;
  margin: 4px 0;
}

.conductor-nb-verb {
  padding: 0 8px;
  border: 1px solid var(--jp-border-color1);
  border-radius: 2px;
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  cursor: pointer;
}

.conductor-nb-filters {
  display: flex;
  flex-wrap: wrap;
  gap: 2px 8px;
}

.conductor-nb-rows,
.conductor-nb-decisions {
  list-style: none;
  padding: 0;
  margin: 0;
}

.conductor-nb-row {
  padding: 6px;
  margin: 6px 0;
  border: 1px solid var(--jp-border-color2);
  border-radius: 4px;
}

.conductor-nb-row-active {
  outline: 2px solid var(--jp-brand-color1);
}

.conductor-nb-step-status {
  display: inline-block;
  min-width: 6em;
  color: var(--jp-ui-font-color2);
}

.conductor-nb-step-completed span:last-child {
  text-decoration: line-through;
}

.conductor-nb-decision {
  padding: 2px 0;
  border-bottom: 1px solid var(--jp-border-color3);
}

.conductor-nb-status {
  cursor: pointer;
  padding: 0 6px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
  max-width: 40em;
}
`,""]),n.d(o,{},{A:c})},314(r){r.exports=function(r){var o=[];return o.toString=function(){return this.map(function(o){var n="",e=void 0!==o[5];return o[4]&&(n+="@supports (".concat(o[4],") {")),o[2]&&(n+="@media ".concat(o[2]," {")),e&&(n+="@layer".concat(o[5].length>0?" ".concat(o[5]):""," {")),n+=r(o),e&&(n+="}"),o[2]&&(n+="}"),o[4]&&(n+="}"),n}).join("")},o.i=function(r,n,e,t,a){"string"==typeof r&&(r=[[null,r,void 0]]);var c={};if(e)for(var i=0;i<this.length;i++){var s=this[i][0];null!=s&&(c[s]=!0)}for(var p=0;p<r.length;p++){var u=[].concat(r[p]);e&&c[u[0]]||(void 0!==a&&(void 0===u[5]||(u[1]="@layer".concat(u[5].length>0?" ".concat(u[5]):""," {").concat(u[1],"}")),u[5]=a),n&&(u[2]&&(u[1]="@media ".concat(u[2]," {").concat(u[1],"}")),u[2]=n),t&&(u[4]?(u[1]="@supports (".concat(u[4],") {").concat(u[1],"}"),u[4]=t):u[4]="".concat(t)),o.push(u))}},o}},601(r){r.exports=function(r){return r[1]}},72(r){var o=[];function n(r){for(var n=-1,e=0;e<o.length;e++)if(o[e].identifier===r){n=e;break}return n}function e(r,e){for(var t={},a=[],c=0;c<r.length;c++){var i=r[c],s=e.base?i[0]+e.base:i[0],p=t[s]||0,u="".concat(s," ").concat(p);t[s]=p+1;var d=n(u),l={css:i[1],media:i[2],sourceMap:i[3],supports:i[4],layer:i[5]};if(-1!==d)o[d].references++,o[d].updater(l);else{var f=function(r,o){var n=o.domAPI(o);return n.update(r),function(o){o?(o.css!==r.css||o.media!==r.media||o.sourceMap!==r.sourceMap||o.supports!==r.supports||o.layer!==r.layer)&&n.update(r=o):n.remove()}}(l,e);e.byIndex=c,o.splice(c,0,{identifier:u,updater:f,references:1})}a.push(u)}return a}r.exports=function(r,t){var a=e(r=r||[],t=t||{});return function(r){r=r||[];for(var c=0;c<a.length;c++){var i=n(a[c]);o[i].references--}for(var s=e(r,t),p=0;p<a.length;p++){var u=n(a[p]);0===o[u].references&&(o[u].updater(),o.splice(u,1))}a=s}}},659(r){var o={};r.exports=function(r,n){var e=function(r){if(void 0===o[r]){var n=document.querySelector(r);if(window.HTMLIFrameElement&&n instanceof window.HTMLIFrameElement)try{n=n.contentDocument.head}catch(r){n=null}o[r]=n}return o[r]}(r);if(!e)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");e.appendChild(n)}},540(r){r.exports=function(r){var o=document.createElement("style");return r.setAttributes(o,r.attributes),r.insert(o,r.options),o}},56(r,o,n){r.exports=function(r){var o=n.nc;o&&r.setAttribute("nonce",o)}},206(r){r.exports=function(r){if("u"<typeof document)return{update:function(){},remove:function(){}};var o=r.insertStyleElement(r);return{update:function(n){var e,t,a;e="",n.supports&&(e+="@supports (".concat(n.supports,") {")),n.media&&(e+="@media ".concat(n.media," {")),(t=void 0!==n.layer)&&(e+="@layer".concat(n.layer.length>0?" ".concat(n.layer):""," {")),e+=n.css,t&&(e+="}"),n.media&&(e+="}"),n.supports&&(e+="}"),(a=n.sourceMap)&&"u">typeof btoa&&(e+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),r.styleTagTransform(e,o,r.options)},remove:function(){var r;null===(r=o).parentNode||r.parentNode.removeChild(r)}}}},113(r){r.exports=function(r,o){if(o.styleSheet)o.styleSheet.cssText=r;else{for(;o.firstChild;)o.removeChild(o.firstChild);o.appendChild(document.createTextNode(r))}}},579(r,o,n){var e=n(72),t=n.n(e),a=n(206),c=n.n(a),i=n(659),s=n.n(i),p=n(56),u=n.n(p),d=n(540),l=n.n(d),f=n(113),v=n.n(f),b=n(475),m={};m.styleTagTransform=v(),m.setAttributes=u(),m.insert=s().bind(null,"head"),m.domAPI=c(),m.insertStyleElement=l(),t()(b.A,m),b.A&&b.A.locals&&b.A.locals}}]);